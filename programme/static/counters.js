/* Live character counters, for any page that includes this file.

   A textarea with data-count="<id of its counter element>" (or with a maxlength and an element marked
   data-counter-for="<the textarea's id>") gets its counter rewritten as one types. The counter's words come from its
   data-template, with {count}, {min} and {max} replaced (numbers written 1,234, as the server writes them); without a
   template: "at least 200 characters: 123 written" when the textarea has data-count-min, else "123 of 2,000
   characters". Characters are counted as the server counts them: the text without the blanks around it, each
   character once (a line break is one). The counter gets the class counter-short below the minimum, counter-enough
   at or above it and counter-over beyond the maximum. Screen readers hear the count once typing pauses (a polite live
   region), not at every key; the counter itself describes its textarea (aria-describedby). */
(function () {
  "use strict";

  var PAUSE_MS = 1200;

  /* A word of the page's language: programme.js's (base.html's data block #script-words), else the English. */
  function word(key, english, values) {
    return window.programmeWord ? window.programmeWord(key, english, values) : english;
  }

  function grouped(number) {
    return String(number).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function counted(text) {
    return Array.from(text.trim()).length;
  }

  function counterOf(area) {
    var id = area.getAttribute("data-count");
    if (id) {
      return document.getElementById(id);
    }
    if (area.id) {
      return document.querySelector('[data-counter-for="' + area.id + '"]');
    }
    return null;
  }

  function number(value) {
    var parsed = parseInt(value, 10);
    return isNaN(parsed) || parsed <= 0 ? 0 : parsed;
  }

  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "visually-hidden";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = text;
  }

  function counter(area) {
    var element = counterOf(area);
    if (!element) {
      return;
    }
    var minimum = number(area.getAttribute("data-count-min"));
    var maximum = number(area.getAttribute("data-count-max")) || (area.maxLength > 0 ? area.maxLength : 0);
    var template = element.getAttribute("data-template") ||
      (minimum ? word("count_at_least", "at least {min} characters: {count} written") :
        maximum ? word("count_of_max", "{count} of {max} characters") : word("count", "{count} characters"));
    var timer = null;

    function update() {
      var count = counted(area.value);
      var text = template.replace("{count}", grouped(count)).replace("{min}", grouped(minimum))
        .replace("{max}", grouped(maximum));
      if (maximum && count > maximum) {
        text += " (" + word("count_too_many", "{count} too many", {count: grouped(count - maximum)}) + ")";
      }
      element.textContent = text;
      element.classList.toggle("counter-short", count < minimum);
      element.classList.toggle("counter-enough", count >= minimum && !(maximum && count > maximum));
      element.classList.toggle("counter-over", Boolean(maximum) && count > maximum);
      return text;
    }

    area.addEventListener("input", function () {
      var text = update();
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        announce(text);
      }, PAUSE_MS);
    });
    window.addEventListener("pageshow", update);
    update();
  }

  function start() {
    var areas = document.querySelectorAll("textarea[data-count], textarea[maxlength]");
    Array.prototype.forEach.call(areas, counter);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
