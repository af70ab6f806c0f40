// Review queue keys: 1/2/3 pick A/B/tie; q–t, a–g, z–b score the three axes 1–5; Enter submits; n skips.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const form = document.getElementById("vote-form");
  if (!form) return;
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
    form.requestSubmit();
  } else if (key === "n") {
    document.getElementById("skip-form").requestSubmit();
  } else {
    for (const fieldset of form.querySelectorAll("fieldset[data-axis]")) {
      const score = fieldset.dataset.keys.indexOf(key);
      if (score >= 0) fieldset.querySelector(`input[value="${score + 1}"]`).checked = true;
    }
    return;
  }
  event.preventDefault();
});
