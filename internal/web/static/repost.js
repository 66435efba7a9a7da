// Sallyport's only script. A provider that answers with a cross-site form
// POST (Apple's form_post) reaches us without our SameSite=Lax cookies, so
// the callback page posts the same fields again from our own origin, where
// the browser sends them. The form's Continue button does the same without
// script; this only saves the click.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("repost");
  if (form) {
    form.submit();
  }
});
