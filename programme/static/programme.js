/* The programme's own script: small enhancements only. Every page works without it (the Content-Security-Policy
   allows scripts from this site only, so nothing here is inline in a page). */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function ready(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  /* The menu button on narrow screens: shows and hides the navigation. */
  function menu() {
    var button = document.querySelector(".menu-toggle");
    var nav = document.getElementById("main-nav");
    if (!button || !nav) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }

  /* Every table of the page scrolls inside its own box, with its first column kept in view. */
  function scrollingTables() {
    var tables = document.querySelectorAll("main table");
    Array.prototype.forEach.call(tables, function (table) {
      var parent = table.parentElement;
      if (parent.classList.contains("table-scroll")) {
        return;
      }
      var box = document.createElement("div");
      box.className = "table-scroll";
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  }

  /* An action that cannot be undone asks first. Without JavaScript its button posts without "confirmed" and the
     server shows a confirmation page; here a button marked data-confirm asks with a dialog instead and, when the
     person agrees, posts straight to the action with its form's "confirmed" field set. */
  function confirmations() {
    var buttons = document.querySelectorAll("button[data-confirm], input[type=submit][data-confirm]");
    Array.prototype.forEach.call(buttons, function (button) {
      var form = button.form;
      var field = form && form.elements.namedItem("confirmed");
      if (!field) {
        return;
      }
      button.addEventListener("click", function (event) {
        if (window.confirm(button.getAttribute("data-confirm"))) {
          field.value = "yes";
        } else {
          event.preventDefault();
        }
      });
      /* Back from the next page, the form is asked again. */
      window.addEventListener("pageshow", function () {
        field.value = "";
      });
    });
  }

  ready(function () {
    menu();
    scrollingTables();
    confirmations();
  });
})();
