// reviewmgr's small behaviours that htmx does not cover. No inline scripts (the CSP forbids them).
"use strict";

(function () {
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function screenMain() {
    return document.getElementById("screen-main");
  }

  function clickKey(key) {
    const main = screenMain();
    const element = main && main.querySelector('[data-key="' + key + '"]:not([disabled])');
    if (element) {
      element.click();
      return true;
    }
    return false;
  }

  function chooseReason(number) {
    const select = document.querySelector("#screen-main select#id_reason");
    if (select && number < select.options.length) {
      select.selectedIndex = number;
      select.dispatchEvent(new Event("change"));
      return true;
    }
    return false;
  }

  function exclude() {
    const reason = document.querySelector("#screen-main #id_reason");
    if (reason && reason.dataset.required === "1" && !reason.value) {
      reason.focus();
      announce("Choose a reason (1 to 9), then press E.");
      return true;
    }
    return clickKey("e");
  }

  function announce(text) {
    let live = document.getElementById("screen-announce");
    if (!live) {
      live = document.createElement("p");
      live.id = "screen-announce";
      live.className = "message";
      live.setAttribute("role", "status");
      const main = screenMain();
      if (main) main.prepend(live);
    }
    live.textContent = text;
  }

  document.addEventListener("keydown", function (event) {
    if (!screenMain() || event.ctrlKey || event.metaKey || event.altKey) return;
    const help = document.getElementById("help-dialog");
    if (event.target.closest && typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    let handled = false;
    const key = event.key;
    if (key === "i" || key === "I") handled = clickKey("i");
    else if (key === "e" || key === "E") handled = exclude();
    else if (key === "m" || key === "M") handled = clickKey("m");
    else if (key === "u" || key === "U") handled = clickKey("u");
    else if (key === "ArrowLeft" || key === "ArrowRight") handled = clickKey(key);
    else if (/^[1-9]$/.test(key)) handled = chooseReason(Number(key));
    else if (key === "?" && help) {
      help.open ? help.close() : help.showModal();
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  // After htmx brings the next record, move focus to it so screen readers and keys follow.
  document.body.addEventListener("htmx:afterSwap", function () {
    const title = document.getElementById("record-title");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus({ preventScroll: false });
    }
  });
})();
