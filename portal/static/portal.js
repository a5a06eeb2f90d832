// Page behaviour that used to sit in on* attributes: the CSP allows no inline script.
// Elements say what they do with data- attributes; without JavaScript they stay plain links/buttons.
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print], [data-history-back]");
  if (!target) return;
  if (target.hasAttribute("data-print")) {
    window.print();
  } else if (window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
