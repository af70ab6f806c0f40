// Persona Studio's page behaviour, in one file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function requestError(message) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  // A 5xx (or a dropped connection) behind an htmx action is not swapped in: say so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    requestError("The server could not complete that (HTTP " + event.detail.xhr.status + "). Try again, and tell an admin if it keeps happening.");
  });
  document.addEventListener("htmx:sendError", function () {
    requestError("The studio could not be reached. Check your connection and try again.");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });

  // [data-needs-live] inside a ws-connect element: usable only while its WebSocket is open (the server joins the
  // socket to its group before opening it). An answer that comes only as a live event — the worker check's pong —
  // sent before the socket joined would be lost, and the page would wait for it forever.
  function setLive(socketElt, open) {
    if (!socketElt || !socketElt.querySelectorAll) return;
    socketElt.querySelectorAll("[data-needs-live]").forEach(function (control) {
      control.disabled = !open;
      control.title = open ? "" : "Connecting to live updates…";
    });
  }
  document.addEventListener("htmx:wsOpen", function (event) { setLive(event.target, true); });
  document.addEventListener("htmx:wsClose", function (event) { setLive(event.target, false); });

  // Its answer can come over the socket before its own response (the worker check: the task is queued when the
  // request commits, and a quick worker's pong beat the "waiting" reply): that reply must not cover the answer.
  // [data-live-answer] marks an answer; the target is emptied when the request is sent.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt, target = event.detail.target;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-needs-live") && target) target.innerHTML = "";
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt, target = event.detail.target;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-needs-live") && target && target.querySelector("[data-live-answer]")) {
      event.detail.shouldSwap = false;
    }
  });

  // <select data-autosubmit>: picking an option submits its form (scope pickers, filters).
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("select[data-autosubmit]") && box.form) box.form.submit();
  });

  // <form data-clear-on-success>: after a successful htmx request, the form is emptied (chat boxes).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form || !form.matches || !form.matches("form[data-clear-on-success]")) return;
    form.querySelectorAll("textarea").forEach(function (box) { box.value = ""; });
  });

  // Chat boxes: Enter sends, Shift+Enter starts a new line.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (box.matches && box.matches("form[data-enter-sends] textarea") && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (box.value.trim()) box.form.requestSubmit();
    }
  });

  // A chat log keeps its newest turn in view; its "say something" placeholder goes with the first turn.
  function scrollToNewest() {
    var log = document.getElementById("chat-log");
    if (log && log.hasAttribute("data-follow")) log.scrollTop = log.scrollHeight;
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "chat-log") {
      var empty = document.getElementById("chat-empty");
      if (empty) empty.remove();
      scrollToNewest();
    }
  });

  // An element swapped in with data-redirect-to (a run that finished) takes the page there after a moment.
  function redirectIfAsked(root) {
    var target = root && root.querySelector ? (root.matches("[data-redirect-to]") ? root : root.querySelector("[data-redirect-to]")) : null;
    if (target) setTimeout(function () { window.location.assign(target.getAttribute("data-redirect-to")); }, 900);
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) { redirectIfAsked(event.target); });  // the new element

  // The unified launch form: the shares' sum as they are typed; "all" stands alone in a phase.
  function showShareSum(form) {
    var total = 0;
    form.querySelectorAll("input[data-share]").forEach(function (input) {
      var value = parseFloat(input.value);
      if (!isNaN(value)) total += value;
    });
    var out = document.getElementById("share-sum");
    if (!out) return;
    out.textContent = (Math.round(total * 100) / 100) + "%";
    out.classList.toggle("off", Math.abs(total - 100) > 0.01);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#unified-form input[data-share]")) showShareSum(event.target.form);
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("#unified-form input[data-phase-category]")) return;
    var group = box.closest("[data-phase-categories]");
    group.querySelectorAll("input[data-phase-category]").forEach(function (other) {
      if (box.checked && other !== box && (box.value === "all" || other.value === "all")) other.checked = false;
      other.closest(".chip").classList.toggle("on", other.checked);
    });
  });

  // The org's socket carries every live update of the org; a message for nothing this page shows (another
  // persona's job) is dropped here rather than swapped at nothing (htmx:oobErrorNoTarget in the console).
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail.message;
    if (typeof message !== "string" || message.indexOf("hx-swap-oob") < 0) return;
    var box = document.createElement("template");
    box.innerHTML = message;
    var parts = box.content.querySelectorAll("[hx-swap-oob]");
    var shown = Array.prototype.some.call(parts, function (part) {  // one part on the page: let htmx swap the message
      var spec = part.getAttribute("hx-swap-oob");
      var colon = spec.indexOf(":");
      try { return document.querySelector(colon > 0 ? spec.slice(colon + 1) : "#" + part.id) !== null; } catch (e) { return true; }
    });
    if (!shown) event.preventDefault();
  });

  // Layer and constitution forms: list fields whose items are added, removed and reordered in place; the item's
  // inputs keep their names, so the form posts them in the order shown.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-list-action]");
    if (!button) return;
    event.preventDefault();
    var list = button.closest("[data-list]");
    var items = list.querySelector(":scope > .list-items");
    var item = button.closest(".list-item");
    var action = button.getAttribute("data-list-action");
    if (action === "add") {
      var max = parseInt(list.getAttribute("data-max"), 10);
      if (max && items.children.length >= max) return;
      // A new item's fields get a key of their own (a constitution trait: statement-<key>, question-<key>).
      var key = "n" + Date.now().toString(36) + Math.floor(Math.random() * 1000);
      items.insertAdjacentHTML("beforeend", list.querySelector(":scope > template").innerHTML.replace(/__key__/g, key));
      var first = items.lastElementChild.querySelector("input:not([type=hidden]), textarea");
      if (first) first.focus();
    } else if (action === "remove") {
      item.remove();
    } else if (action === "up" && item.previousElementSibling) {
      items.insertBefore(item, item.previousElementSibling);
      button.focus();
    } else if (action === "down" && item.nextElementSibling) {
      items.insertBefore(item.nextElementSibling, item);
      button.focus();
    }
  });

  // A 0–1 slider shows its value beside its label as it moves.
  document.addEventListener("input", function (event) {
    var slider = event.target;
    if (!slider.matches || !slider.matches("input[type=range][data-show-value]")) return;
    var out = slider.closest("label").querySelector("output");
    if (out) out.textContent = slider.value;
  });

  document.addEventListener("DOMContentLoaded", scrollToNewest);
})();
