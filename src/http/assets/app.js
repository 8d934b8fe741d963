// Small progressive enhancements; every page works without this script.
(function () {
  'use strict';

  // Recovery codes: copy, download as .txt and print.
  document.querySelectorAll('[data-copy-target]').forEach(function (button) {
    button.addEventListener('click', function () {
      var target = document.getElementById(button.getAttribute('data-copy-target'));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.innerText.trim()).then(function () {
        button.textContent = 'Copied';
      });
    });
  });
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });

  // "I have saved these" gates the Continue button.
  document.querySelectorAll('[data-enables]').forEach(function (checkbox) {
    var target = document.getElementById(checkbox.getAttribute('data-enables'));
    if (!target) return;
    var sync = function () { target.disabled = !checkbox.checked; };
    checkbox.addEventListener('change', sync);
    sync();
  });

  // "Send again" cooldowns: count down, then enable the button.
  document.querySelectorAll('[data-cooldown]').forEach(function (button) {
    var seconds = parseInt(button.getAttribute('data-cooldown'), 10) || 0;
    var label = button.getAttribute('data-label') || button.textContent;
    var tick = function () {
      if (seconds <= 0) { button.disabled = false; button.textContent = label; return; }
      button.disabled = true;
      button.textContent = label + ' (' + seconds + ' s)';
      seconds -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });

  // WebOTP: where the browser can read the texted code (its last line is
  // "@<host> #<code>"), fill it in and submit; typing it still works everywhere.
  document.querySelectorAll('form[data-webotp]').forEach(function (form) {
    var input = form.querySelector('input[name="code"]');
    if (!input || !('OTPCredential' in window) || !navigator.credentials) return;
    var controller = new AbortController();
    form.addEventListener('submit', function () { controller.abort(); });
    navigator.credentials.get({ otp: { transport: ['sms'] }, signal: controller.signal }).then(function (otp) {
      if (!otp || !otp.code || input.value) return;
      input.value = otp.code;
      form.submit();
    }).catch(function () {});
  });

  // Confirm dangerous actions.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
})();
