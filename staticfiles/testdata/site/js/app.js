console.log("app");
// a comment: //# sourceMappingURL=nothing.map
//# sourceMappingURL=app.js.map
