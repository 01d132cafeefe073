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

  // A message box kept at the top of `container`, read out by screen readers (role status/alert).
  function messageBox(id, role, className, container) {
    let box = document.getElementById(id);
    if (!box && container) {
      box = document.createElement("p");
      box.id = id;
      box.className = className;
      box.setAttribute("role", role);
      container.prepend(box);
    }
    return box;
  }

  function announce(text) {
    const live = messageBox("screen-announce", "status", "message", screenMain());
    if (live) live.textContent = text;
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

  // A refused or failed htmx request must not fail silently: say what happened, where the user
  // looks. The server's own message (e.g. "nothing was saved") is shown when it sent one.
  function showError(text) {
    const main = document.querySelector("main") || document.body;
    messageBox("request-error", "alert", "message error", main).textContent = text;
  }

  document.body.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const alert = page.querySelector("[role=alert]");
    const heading = page.querySelector("h1");
    const after = heading && heading.nextElementSibling;
    let said = alert ? alert.textContent.trim() : "";
    if (!said && heading) said = heading.textContent.trim() + (after ? ": " + after.textContent.trim() : "");
    showError(said || "The server answered with an error (" + xhr.status + "); nothing was saved. Try again.");
  });

  document.body.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached, so nothing was saved. Check the connection and try again.");
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    const box = document.getElementById("request-error");
    if (box && event.detail.successful) box.remove();
  });

  // Answers save as they are typed (an hx-post per field, sent after a pause). Nothing typed may
  // be lost to a click that comes first: a form submitted or a link followed on the same page
  // waits until every answer waiting or on its way is saved; the browser asks before a page
  // with unsaved answers is closed. If a save fails, the click is not carried out.
  const unsent = new Set();
  let saving = 0;
  let failed = false;
  let waiting = null; // the click to carry out once the saves are in; the latest one wins

  function autosaving(element) {
    return element instanceof Element && element.matches('[hx-post][hx-trigger~="changed"]');
  }

  function pending() {
    return unsent.size > 0 || saving > 0;
  }

  function afterSaves(then) {
    const already = waiting !== null;
    waiting = then;
    if (already) return; // a second click while waiting replaces the first, never doubles it
    failed = false;
    unsent.forEach(function (field) {
      htmx.trigger(field, "change");
    });
    const wait = window.setInterval(function () {
      if (failed || !pending()) {
        window.clearInterval(wait);
        const next = waiting;
        waiting = null;
        if (!failed) next();
      }
    }, 50);
  }

  document.addEventListener("input", function (event) {
    if (autosaving(event.target)) unsent.add(event.target);
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!autosaving(event.detail.elt)) return;
    unsent.delete(event.detail.elt);
    saving += 1;
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (!autosaving(event.detail.elt)) return;
    saving = Math.max(0, saving - 1);
    if (!event.detail.successful) {
      failed = true;
      // still unsaved: the next click tries again, and closing the page still asks
      if (document.body.contains(event.detail.elt)) unsent.add(event.detail.elt);
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!pending() || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    event.preventDefault();
    const submitter = event.submitter;
    afterSaves(function () {
      form.requestSubmit(submitter);
    });
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || !pending() || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || link.target || link.hasAttribute("download")) return;
    if (link.getAttribute("href").startsWith("#")) return;
    event.preventDefault();
    afterSaves(function () {
      window.location.assign(link.href);
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending()) event.preventDefault();
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
