/* Unsaved changes are not lost silently. A form marked data-unsaved-warning remembers its values as the page
   showed them; with one of its fields changed, following a link asks first (window.confirm), and so does sending
   another form of the page; closing or reloading the tab asks the browser's own question (beforeunload).
   Submitting the changed form itself never asks. A form shown again after a refused save
   (data-unsaved-warning="unsaved") counts as changed from the start: what it holds is not saved.
   Without JavaScript nothing asks; nothing else depends on this script. */
(function () {
  "use strict";

  var watched = [];
  var leaving = false;

  /* The question asked before changes are lost, in the page's language. */
  function question() {
    return word("unsaved", "You have unsaved changes in this section. Leave without saving?");
  }

  /* A word of the page's language: programme.js's (base.html's data block #script-words), else the English. */
  function word(key, english, values) {
    return window.programmeWord ? window.programmeWord(key, english, values) : english;
  }

  function ready(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  /* The form's values as one text: what a person can change (no hidden fields, no buttons). */
  function values(form) {
    return Array.prototype.map.call(form.elements, function (element) {
      var type = (element.type || "").toLowerCase();
      if (!element.name || element.disabled || type === "hidden" || type === "submit" || type === "button" ||
          type === "reset") {
        return "";
      }
      if (type === "checkbox" || type === "radio") {
        return element.name + "=" + element.checked;
      }
      if (element.tagName === "SELECT") {
        return element.name + "=" + Array.prototype.filter.call(element.options, function (option) {
          return option.selected;
        }).map(function (option) {
          return option.value;
        }).join(",");
      }
      return element.name + "=" + element.value;
    }).join("\u0000");
  }

  function changed(entry) {
    return entry.unsaved || values(entry.form) !== entry.initial;
  }

  /* Whether a form other than `except` holds changes that leaving the page would lose. */
  function unsaved(except) {
    return watched.some(function (entry) {
      return entry.form !== except && changed(entry);
    });
  }

  function samePage(link) {
    var url = new URL(link.href, window.location.href);
    var here = window.location;
    return url.origin === here.origin && url.pathname === here.pathname && url.search === here.search &&
      url.hash !== "";
  }

  ready(function () {
    var forms = document.querySelectorAll("form[data-unsaved-warning]");
    if (!forms.length) {
      return;
    }
    watched = Array.prototype.map.call(forms, function (form) {
      return {form: form, initial: values(form), unsaved: form.getAttribute("data-unsaved-warning") === "unsaved"};
    });

    document.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
          event.altKey) {
        return; /* a new tab or window loses nothing */
      }
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || (link.target && link.target !== "_self") || link.hasAttribute("download") || samePage(link)) {
        return;
      }
      if (!unsaved(null)) {
        return;
      }
      if (window.confirm(question())) {
        leaving = true;
      } else {
        event.preventDefault();
      }
    });

    document.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return;
      }
      if (unsaved(event.target) && !window.confirm(question())) {
        event.preventDefault();
        return;
      }
      leaving = true;
    });

    window.addEventListener("beforeunload", function (event) {
      if (leaving || !unsaved(null)) {
        return undefined;
      }
      event.preventDefault();
      event.returnValue = "";
      return "";
    });

    /* Back on the page from the browser's cache: nothing is being left any more. */
    window.addEventListener("pageshow", function () {
      leaving = false;
    });
  });
})();
