/* The programme's own script: small enhancements only. Every page works without it (the Content-Security-Policy
   allows scripts from this site only, so nothing here is inline in a page). */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  /* A word of the page's language (base.html's data block #script-words), else the English given; {name} in it is
     replaced by values[name]. */
  var pageWords = null;
  function word(key, english, values) {
    if (pageWords === null) {
      var block = document.getElementById("script-words");
      try {
        pageWords = block ? JSON.parse(block.textContent) : {};
      } catch (error) {
        pageWords = {};
      }
    }
    var text = typeof pageWords[key] === "string" ? pageWords[key] : english;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }
  /* The other scripts (loaded after this one, every page loads it first) write their words with it. */
  window.programmeWord = word;

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

  /* The boxes that may scroll sideways inside a page: the tables' boxes and the dashboard's wide charts. */
  var SCROLL_BOXES = "main .table-scroll, main figure.dashboard-chart";

  /* What a box holds, for its name: a table's caption or label, a chart's title, else the heading above it. */
  function boxTitle(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) {
      return caption.textContent.trim();
    }
    var labelled = box.querySelector("table[aria-label], svg[aria-label]");
    if (labelled) {
      return labelled.getAttribute("aria-label");
    }
    for (var node = box; node && node.tagName !== "MAIN"; node = node.parentElement) {
      for (var before = node.previousElementSibling; before; before = before.previousElementSibling) {
        if (/^H[1-6]$/.test(before.tagName)) {
          return before.textContent.trim();
        }
      }
    }
    return box.querySelector("table") ? word("table", "Table") : word("chart", "Chart");
  }

  /* A box that scrolls can be reached and scrolled with the keyboard: it takes the focus (tabindex 0) and, being a
     tab stop, says what it is ("Revolving funds, scrolls sideways"). A box that fits the screen is left as it was,
     so a wide screen has no extra tab stops; the boxes are looked at again when the window or an unfolded text
     changes their width. */
  function keyboardScrolling() {
    var boxes = document.querySelectorAll(SCROLL_BOXES);
    /* Each box's name, told apart when two boxes would share one ("Loans, table 2 of 2"). */
    var titles = Array.prototype.map.call(boxes, boxTitle);
    var names = titles.map(function (title, index) {
      var same = titles.filter(function (other) { return other === title; }).length;
      var nth = titles.slice(0, index + 1).filter(function (other) { return other === title; }).length;
      var values = {title: title, nth: nth, count: same};
      if (same < 2) {
        return title;
      }
      return boxes[index].querySelector("table") ? word("nth_table", "{title}, table {nth} of {count}", values) :
        word("nth_chart", "{title}, chart {nth} of {count}", values);
    });
    function update() {
      Array.prototype.forEach.call(boxes, function (box, index) {
        var scrolls = box.scrollWidth > box.clientWidth + 1;
        if (scrolls && !box.hasAttribute("data-scrolls")) {
          box.setAttribute("data-scrolls", "");
          box.setAttribute("tabindex", "0");
          if (box.tagName !== "FIGURE") {
            box.setAttribute("role", "region");
          }
          box.setAttribute("aria-label", word("scrolls", "{name}, scrolls sideways", {name: names[index]}));
        } else if (!scrolls && box.hasAttribute("data-scrolls")) {
          ["data-scrolls", "tabindex", "role", "aria-label"].forEach(function (name) {
            box.removeAttribute(name);
          });
        }
      });
    }
    update();
    window.addEventListener("resize", update);
    document.addEventListener("toggle", update, true);
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
    keyboardScrolling();
    confirmations();
  });
})();
