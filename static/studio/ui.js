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
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
