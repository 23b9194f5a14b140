// fragcache blog: the only script. It marks the page as scripted and, on
// the edit form, counts the characters left in the body.
document.documentElement.dataset.js = "loaded";
document.addEventListener("DOMContentLoaded", function () {
  var body = document.getElementById("body");
  if (!body) return;
  var max = parseInt(body.dataset.maxlength || "0", 10);
  var note = document.createElement("p");
  note.className = "muted counter";
  body.after(note);
  function update() { note.textContent = (max - body.value.length) + " characters left"; }
  body.addEventListener("input", update);
  update();
});
