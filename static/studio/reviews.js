// Review queue keys: 1/2/3 pick A/B/tie; q–t, a–g, z–b score the three axes 1–5; Enter submits; n skips.
// A key pressed right after a swap may reach a form htmx has not processed yet (it does so on settle):
// process it first, so the vote goes out as an htmx request (the forms also post without htmx).
function submit(form) {
  if (window.htmx) window.htmx.process(form);
  form.requestSubmit();
}
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const form = document.getElementById("vote-form");
  if (!form) {
    const undo = document.getElementById("undo-form");  // the queue is empty, but the last vote can still be undone
    if (undo && event.key.toLowerCase() === "u" && !(event.target.closest && event.target.closest("textarea, input"))) submit(undo);
    return;
  }
  const typing = event.target.closest && event.target.closest("textarea, input[type=text]");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key.toLowerCase();
  const choice = { "1": "a", "2": "b", "3": "tie" }[key];
  if (choice) {
    form.querySelector(`input[name=choice][value=${choice}]`).checked = true;
  } else if (key === "enter") {
    submit(form);
  } else if (key === "n") {
    submit(document.getElementById("skip-form"));
  } else if (key === "u" && document.getElementById("undo-form")) {
    submit(document.getElementById("undo-form"));
  } else {
    for (const fieldset of form.querySelectorAll("fieldset[data-axis]")) {
      const score = fieldset.dataset.keys.indexOf(key);
      if (score >= 0) fieldset.querySelector(`input[value="${score + 1}"]`).checked = true;
    }
    return;
  }
  event.preventDefault();
});
