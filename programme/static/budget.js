/* The budget's figures as the applicant types, on a proposal's budget and activities pages.

   The server puts the saved figures and the call's limits on the page's [data-budget-figures] element, in whole
   minor units (cents), with the start-up share as a fraction and the wording of its messages; the amount fields
   are marked data-budget-input ("requested", "line" or "activity"), an edit form carries the saved amount it
   replaces (data-budget-replaces); a line typed into the add form counts as one more budget line. As one types, the totals in output[data-figure] and the warnings in
   [data-budget-warnings] are worked out again, in integer cents parsed from the typed text, never through a
   float. Without this script the page shows the same checks as saved, from the server. */
(function () {
  "use strict";

  function ready(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  function whole(text) {
    return /^\d+$/.test(text || "") ? parseInt(text, 10) : 0;
  }

  /* The page's language's marks (base.html writes them on <html>): "." and "," in English, "," and "." in Spanish
     and Portuguese. */
  var decimalMark = document.documentElement.getAttribute("data-decimal") || ".";
  var groupMark = document.documentElement.getAttribute("data-group") || ",";

  function escaped(mark) {
    return mark.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /* Typed text as a whole number of minor units, or null when it is not an amount (yet). As on the server
     (core.money.typed_number), spaces are ignored and thousands may be separated in groups of three, in the page's
     language's way; at most `places` decimals. */
  function toMinorUnits(text, places) {
    var raw = String(text).replace(/[\s\u00a0\u202f]/g, "");
    var group = escaped(groupMark);
    var decimal = escaped(decimalMark);
    if (raw.indexOf(groupMark) !== -1) {
      if (!new RegExp("^\\d{1,3}(" + group + "\\d{3})+(" + decimal + "\\d*)?$").test(raw)) {
        return null;
      }
      raw = raw.split(groupMark).join("");
    }
    if (decimalMark !== "." && raw.indexOf(".") !== -1) {
      return null;
    }
    var match = new RegExp("^(\\d+)(?:" + decimal + "(\\d*))?$").exec(raw);
    if (!match) {
      return null;
    }
    var fraction = match[2] || "";
    if (fraction.length > places) {
      return null;
    }
    while (fraction.length < places) {
      fraction += "0";
    }
    var digits = (match[1] + fraction).replace(/^0+(?=\d)/, "");
    if (digits.length > 15) {
      return null; /* beyond what a money column holds, and beyond exact integers */
    }
    return parseInt(digits, 10);
  }

  /* An amount of minor units written as the server writes it: "EUR 60,000.00" ("EUR 60.000,00" in Spanish). */
  function formatMoney(units, currency, places) {
    var text = String(Math.abs(units));
    while (text.length <= places) {
      text = "0" + text;
    }
    var integer = places ? text.slice(0, text.length - places) : text;
    var fraction = places ? decimalMark + text.slice(text.length - places) : "";
    integer = integer.replace(/\B(?=(\d{3})+(?!\d))/g, groupMark);
    return (currency + " " + (units < 0 ? "-" : "") + integer + fraction).trim();
  }

  /* n / d rounded down, exactly, for whole numbers n >= 0 and d > 0. */
  function floorDivide(n, d) {
    return (n - (n % d)) / d;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : all;
    });
  }

  function savedFigures(element) {
    var data = element.dataset;
    var share = (data.share || "1/1").split("/");
    return {
      currency: data.currency || "",
      places: whole(data.minorUnit),
      maximum: whole(data.maximum),
      cap: whole(data.cap),
      shareNumerator: whole(share[0]),
      shareDenominator: whole(share[1]) || 1,
      shareText: data.shareText || "",
      requested: data.requested === "" ? null : whole(data.requested),
      budget: whole(data.budget),
      activities: whole(data.activities),
      lines: whole(data.lines),
      messages: JSON.parse(data.messages || "{}")
    };
  }

  /* The figures with what is typed: the amount requested as typed, the budget total and the activities' total with
     the typed line or cost in place of the one it replaces. A field holding no amount (yet) leaves the saved one. */
  function typedFigures(saved, inputs) {
    var now = {requested: saved.requested, budget: saved.budget, activities: saved.activities, lines: saved.lines};
    Array.prototype.forEach.call(inputs, function (input) {
      var role = input.getAttribute("data-budget-input");
      var form = input.form;
      var edits = form !== null && form.hasAttribute("data-budget-replaces");
      var replaces = edits ? whole(form.getAttribute("data-budget-replaces")) : 0;
      var empty = input.value.trim() === "";
      var typed = empty ? (role === "requested" ? null : 0) : toMinorUnits(input.value, saved.places);
      if (!empty && typed === null) {
        return;
      }
      if (role === "requested") {
        now.requested = typed;
      } else if (role === "line") {
        now.budget = now.budget - replaces + typed;
        now.lines += !edits && typed > 0 ? 1 : 0;
      } else if (role === "activity") {
        now.activities = now.activities - replaces + typed;
      }
    });
    now.typed = now.requested !== saved.requested || now.budget !== saved.budget ||
      now.activities !== saved.activities;
    return now;
  }

  /* The same checks as proposals.domain.check_budget, in the same words. */
  function requestedMessages(saved, now, money) {
    var messages = [];
    if (now.requested === null || now.requested <= 0) {
      return messages;
    }
    var values = {
      requested: money(now.requested), maximum: money(saved.maximum), cap: money(saved.cap),
      budget: money(now.budget), share: saved.shareText,
      payable: money(floorDivide(now.budget * saved.shareNumerator, saved.shareDenominator))
    };
    if (now.requested > Math.min(saved.maximum, saved.cap)) {
      messages.push(fill(saved.messages[saved.cap < saved.maximum ? "over_cap" : "over_maximum"], values));
    }
    if (now.requested * saved.shareDenominator > now.budget * saved.shareNumerator) {
      var full = saved.shareNumerator >= saved.shareDenominator;
      messages.push(fill(saved.messages[full ? "over_budget" : "over_share"], values));
    }
    return messages;
  }

  function costMessages(saved, now, money) {
    if (now.lines === 0 || now.budget === now.activities) { /* no budget line yet: nothing to compare */
      return [];
    }
    return [fill(saved.messages[now.budget < now.activities ? "lines_under" : "lines_over"], {
      budget: money(now.budget), activities: money(now.activities),
      difference: money(Math.abs(now.budget - now.activities))
    })];
  }

  function show(box, messages) {
    var shown = Array.prototype.map.call(box.children, function (child) {
      return child.textContent;
    });
    if (shown.join("\n") === messages.join("\n")) {
      return; /* unchanged: not announced again */
    }
    box.textContent = "";
    messages.forEach(function (message) {
      var line = document.createElement("p");
      line.className = "field-warning";
      line.textContent = message;
      box.appendChild(line);
    });
  }

  function update(saved, inputs) {
    var now = typedFigures(saved, inputs);
    var money = function (units) {
      return formatMoney(units, saved.currency, saved.places);
    };
    Array.prototype.forEach.call(document.querySelectorAll("[data-budget-warnings]"), function (box) {
      var kind = box.getAttribute("data-budget-warnings");
      show(box, kind === "requested" ? requestedMessages(saved, now, money) : costMessages(saved, now, money));
    });
    Array.prototype.forEach.call(document.querySelectorAll("output[data-figure]"), function (output) {
      var value = now[output.getAttribute("data-figure")];
      output.textContent = value === null || value === undefined ? "\u2013" : money(value);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-budget-typed]"), function (note) {
      note.hidden = !now.typed;
    });
  }

  ready(function () {
    var element = document.querySelector("[data-budget-figures]");
    var inputs = document.querySelectorAll("input[data-budget-input]");
    if (!element || !inputs.length) {
      return;
    }
    var saved = savedFigures(element);
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("input", function () {
        update(saved, inputs);
      });
    });
    update(saved, inputs);
  });
})();
