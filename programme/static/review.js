/* The running weighted total of a review (the scoring page, templates/reviews/reviewer/review.html).

   The server writes the total of the scores it shows into an element marked data-running-total, and each score
   field's weight into its data-weight attribute: the weights the server's own total uses
   (programme.reviews.aggregation.weighted_sum). This script writes the same words again as the reviewer chooses
   scores, by the same formula: the sum of weight x score over the criteria scored so far, exactly (decimal
   arithmetic on whole numbers, never floating point), rounded to 2 places half away from zero and written without
   trailing zeros, as the server's forms.RunningTotal.shown. Without the script the page shows the server's figure. */
(function () {
  "use strict";

  /* A word of the page's language: programme.js's (base.html's data block #script-words), else the English. */
  function word(key, english, values) {
    return window.programmeWord ? window.programmeWord(key, english, values) : english;
  }

  /* "3.5" -> {units: 35n, places: 1}; anything else (an empty choice) -> null. */
  function parse(text) {
    var match = /^\s*([+-]?)(\d+)(?:\.(\d*))?\s*$/.exec(text || "");
    if (!match) {
      return null;
    }
    var fraction = match[3] || "";
    var units = BigInt(match[2] + fraction);
    return { units: match[1] === "-" ? -units : units, places: fraction.length };
  }

  function power(places) {
    return BigInt(10) ** BigInt(places);
  }

  /* An exact total (units at `places` decimals) rounded to 2 places half away from zero, without trailing zeros. */
  function shown(units, places) {
    var negative = units < 0n;
    var size = negative ? -units : units;
    var hundredths;
    if (places <= 2) {
      hundredths = size * power(2 - places);
    } else {
      var divisor = power(places - 2);
      hundredths = size / divisor;
      if ((size % divisor) * 2n >= divisor) {
        hundredths += 1n;
      }
    }
    var whole = (hundredths / 100n).toString();
    var cents = (hundredths % 100n).toString().padStart(2, "0").replace(/0+$/, "");
    var text = cents ? whole + "." + cents : whole;
    return negative && hundredths !== 0n ? "-" + text : text;
  }

  /* The weighted total of the chosen scores: {text, scored, criteria}. */
  function total(fields) {
    var terms = [];
    var places = 0;
    fields.forEach(function (field) {
      var score = parse(field.value);
      var weight = parse(field.getAttribute("data-weight"));
      if (score === null || weight === null) {
        return;
      }
      var term = { units: score.units * weight.units, places: score.places + weight.places };
      places = Math.max(places, term.places);
      terms.push(term);
    });
    var sum = 0n;
    terms.forEach(function (term) {
      sum += term.units * power(places - term.places);
    });
    /* Written with the page's decimal mark (<html data-decimal>, the language's), as the server writes it. */
    var mark = document.documentElement.getAttribute("data-decimal") || ".";
    return { text: shown(sum, places).replace(".", mark), scored: terms.length, criteria: fields.length };
  }

  /* The same words as the server's (templates/reviews/reviewer/_macros.html, running_total). */
  function words(result, maximum) {
    var values = {total: result.text, maximum: maximum, scored: result.scored, criteria: result.criteria};
    if (result.scored === result.criteria) {
      return word("weighted_total", "Weighted total: {total} of {maximum} (all {criteria} criteria scored)", values);
    }
    return word("weighted_total_so_far",
      "Weighted total so far: {total} of {maximum} ({scored} of {criteria} criteria scored)", values);
  }

  function runningTotal(output) {
    var form = output.closest("form");
    if (!form) {
      return;
    }
    var fields = Array.prototype.slice.call(form.querySelectorAll("[data-weight]"));
    var maximum = output.getAttribute("data-total-max");
    var last = output.textContent;
    function update() {
      var text = words(total(fields), maximum);
      if (text !== last) { /* the status region announces a change only */
        output.textContent = text;
        last = text;
      }
    }
    fields.forEach(function (field) {
      field.addEventListener("change", update);
      field.addEventListener("input", update);
    });
    /* Back to the page from the next one, the browser may restore the choices: count them again. */
    window.addEventListener("pageshow", update);
    update();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-running-total]"), runningTotal);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
