// Persona Studio's shared controls (no inline script under the Content-Security-Policy): copy buttons,
// in-page confirmation dialogs for hx-confirm, filters that hide rows, and chart values on hover.
(function () {
  "use strict";

  // <button data-copy="#selector">: copies the element's text and says so on the button.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var done = function () {
      button.textContent = "Copied";
      button.setAttribute("data-copied", "true");
      setTimeout(function () { button.textContent = "Copy"; }, 2500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); done(); });
    } else {
      selectText(source);
      try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
      done();
    }
  });
  // Launch forms: editing a field a preset fills makes the preset "Custom (edited)" (the server says the same when it
  // renders the fields again), so the select never claims a preset the values no longer are.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-preset-field]") || !input.form) return;
    var preset = input.form.querySelector("select[name=preset]");
    if (!preset || preset.value === "custom") return;
    var custom = preset.querySelector("option[value=custom]");
    if (!custom) return;
    custom.textContent = "Custom (edited)";
    preset.value = "custom";
  });

  // The pre-flight names fields in error: highlight them in the form as it is being filled in, not only after a post.
  function markFieldsInError(panel) {
    var form = panel.closest("form") || document.querySelector("form.launch-form");
    if (!form) return;
    var named = {};
    panel.querySelectorAll(".issue-error[data-field]").forEach(function (issue) {
      var name = (issue.getAttribute("data-field") || "").split(".")[0];
      if (name) named[name] = issue.textContent.trim();
    });
    form.querySelectorAll("[data-flagged]").forEach(function (input) {
      if (named[input.name]) return;
      input.removeAttribute("data-flagged");
      input.removeAttribute("aria-invalid");
      var label = input.closest("label");
      if (label) label.classList.remove("has-error");
    });
    Object.keys(named).forEach(function (name) {
      form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("data-flagged", "");
        input.title = named[name];
        var label = input.closest("label");
        if (label) label.classList.add("has-error");
      });
    });
  }
  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.getElementById("preflight");
    if (panel) markFieldsInError(panel);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("preflight");
    if (panel) markFieldsInError(panel);
  });

  // hx-confirm asks in the page, not with the browser's confirm() box: a dialog with the question, Cancel and the
  // action's own name (data-confirm-label, else "Confirm").
  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm-dialog";
    dialog.setAttribute("data-testid", "confirm-dialog");
    dialog.innerHTML = '<form method="dialog"><p></p><div class="form-actions"><button value="cancel" data-testid="confirm-cancel">Cancel</button>' +
      '<button value="ok" class="primary" data-testid="confirm-ok">Confirm</button></div></form>';
    document.body.appendChild(dialog);
    return dialog;
  }
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    var dialog = confirmDialog();
    var source = event.detail.elt;
    dialog.querySelector("p").textContent = event.detail.question;
    dialog.querySelector("[value=ok]").textContent = (source && source.getAttribute("data-confirm-label")) || "Confirm";
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue === "ok") event.detail.issueRequest(true);
    };
    dialog.showModal();
    dialog.querySelector("[value=ok]").focus();
  });

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
