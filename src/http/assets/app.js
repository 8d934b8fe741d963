// Small progressive enhancements; every page works without this script.
(function () {
  'use strict';

  // The messages below in the reader's language, from the page's JSON data block
  // (pages/layout.ts); English where the page has none.
  var messages = {};
  try {
    var block = document.getElementById('tessera-messages');
    if (block) messages = JSON.parse(block.textContent) || {};
  } catch (error) {
    messages = {};
  }
  var say = function (name, english) {
    var message = messages[name];
    return typeof message === 'string' && message ? message : english;
  };

  // Recovery codes: copy, download as .txt and print.
  document.querySelectorAll('[data-copy-target]').forEach(function (button) {
    button.addEventListener('click', function () {
      var target = document.getElementById(button.getAttribute('data-copy-target'));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.innerText.trim()).then(function () {
        button.textContent = say('copied', 'Copied');
      });
    });
  });
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () {
      window.print();
    });
  });

  // "I have saved these" gates the Continue button.
  document.querySelectorAll('[data-enables]').forEach(function (checkbox) {
    var target = document.getElementById(checkbox.getAttribute('data-enables'));
    if (!target) return;
    var sync = function () {
      target.disabled = !checkbox.checked;
    };
    checkbox.addEventListener('change', sync);
    sync();
  });

  // "Send again" cooldowns: count down, then enable the button.
  document.querySelectorAll('[data-cooldown]').forEach(function (button) {
    var seconds = parseInt(button.getAttribute('data-cooldown'), 10) || 0;
    var label = button.getAttribute('data-label') || button.textContent;
    var tick = function () {
      if (seconds <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = say('cooldown', '{label} ({seconds} s)')
        .replace('{label}', function () {
          return label;
        })
        .replace('{seconds}', String(seconds));
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
    form.addEventListener('submit', function () {
      controller.abort();
    });
    navigator.credentials
      .get({ otp: { transport: ['sms'] }, signal: controller.signal })
      .then(function (otp) {
        if (!otp || !otp.code || input.value) return;
        input.value = otp.code;
        form.submit();
      })
      .catch(function () {});
  });

  // Security keys and passkeys, through @simplewebauthn/browser (webauthn.js). The
  // server's options ride on the form; the browser's answer goes back in a hidden field.
  var webauthn = window.SimpleWebAuthnBrowser;
  var keySupported = !!(webauthn && webauthn.browserSupportsWebAuthn());
  // Keys are bound to the address Tessera is configured with (TESSERA_BASE_URL): on
  // any other (127.0.0.1 for localhost, say) say so instead of the browser's error.
  var keyOrigin = document.body.getAttribute('data-key-origin');
  var wrongAddress = !!keyOrigin && window.location.origin !== keyOrigin;
  var keyMessage = function (error) {
    if (wrongAddress) return say('keyWrongAddress', 'Security keys work only at ' + keyOrigin + '. Open this page there to use one.');
    if (error && error.name === 'NotAllowedError') return say('keyTimedOut', 'The security key did not answer in time, or you cancelled. Try again.');
    if (error && error.name === 'InvalidStateError') return say('keyAlreadyAdded', 'This security key is already added.');
    if (!keySupported) return say('keyUnsupported', 'This browser cannot use security keys. Use another method.');
    return (error && error.message) || say('keyFailedTryAgain', 'The security key could not be used. Try again.');
  };
  var showKeyError = function (box, error) {
    if (!box) return;
    box.hidden = false;
    box.textContent = keyMessage(error);
  };

  // Fresh options from the server (a POST with the form's CSRF token): for signing in,
  // they are bound to this sign-in; for a confirmation, to this session.
  var fetchKeyOptions = function (url, form) {
    var csrf = form.querySelector('input[name="_csrf"]');
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf ? csrf.value : '' }).toString(),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.error ? body.error.message : say('keyFailed', 'The security key could not be used.'));
        return body.options;
      });
    });
  };

  // Adding a key (options on the form) and signing in with one (options fetched).
  document.querySelectorAll('form[data-webauthn-options], form[data-webauthn-sign-in]').forEach(function (form) {
    var registering = form.hasAttribute('data-webauthn-options');
    var box = form.querySelector('[data-webauthn-error]');
    var button = form.querySelector('button[type="submit"]');
    if (!keySupported || wrongAddress) {
      showKeyError(box, null);
      if (button) button.hidden = true;
      return;
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (button) button.disabled = true;
      var ceremony = registering
        ? webauthn.startRegistration({ optionsJSON: JSON.parse(form.getAttribute('data-webauthn-options')) })
        : fetchKeyOptions(form.getAttribute('data-webauthn-sign-in'), form).then(function (optionsJSON) {
            return webauthn.startAuthentication({ optionsJSON: optionsJSON });
          });
      ceremony
        .then(function (credential) {
          form.querySelector('input[name="' + (registering ? 'credential' : 'code') + '"]').value = JSON.stringify(credential);
          form.submit();
        })
        .catch(function (error) {
          if (button) button.disabled = false;
          showKeyError(box, error);
        });
    });
  });

  // "Use your security key" inside a confirmation: the signed answer is sent as the
  // confirmation's code.
  document.querySelectorAll('[data-webauthn-confirm]').forEach(function (button) {
    var form = button.form;
    if (!form) return;
    var box = form.querySelector('[data-webauthn-error]');
    if (!keySupported || wrongAddress) {
      button.hidden = true;
      showKeyError(box, null);
      return;
    }
    button.addEventListener('click', function () {
      // form.submit() below skips the submit event, so ask here what it would have asked.
      var question = form.getAttribute('data-confirm');
      if (question && !window.confirm(question)) return;
      button.disabled = true;
      fetchKeyOptions('/profile/two-factor/webauthn/confirmation-options', form)
        .then(function (optionsJSON) {
          return webauthn.startAuthentication({ optionsJSON: optionsJSON });
        })
        .then(function (credential) {
          var radio = form.querySelector('input[name="method"][value="webauthn"]');
          if (radio) radio.checked = true;
          var code = form.querySelector('input[name="code"]');
          code.value = JSON.stringify(credential);
          form.submit();
        })
        .catch(function (error) {
          button.disabled = false;
          showKeyError(box, error);
        });
    });
  });

  // Passkey sign-in: "Sign in with a passkey" asks the browser at once; meanwhile the
  // same ceremony waits behind the email field, where the browser offers the saved
  // passkeys of this site (conditional mediation). Either way the signed answer is
  // posted with the form, with the flow token of the ceremony that signed it. Only the
  // latest ceremony counts: options that arrive for an older one are dropped (they
  // would cancel the newer one), and after a button ceremony that did not sign in, the
  // email field offers the passkeys again.
  document.querySelectorAll('form[data-passkey-sign-in]').forEach(function (form) {
    var box = form.querySelector('[data-webauthn-error]');
    var button = form.querySelector('button[type="submit"]');
    if (!keySupported || wrongAddress) {
      if (button) button.hidden = true;
      return;
    }
    var latest = 0;
    var superseded = function () {
      var error = new Error('A newer passkey request took over.');
      error.name = 'AbortError';
      return error;
    };
    var ceremony = function (autofill) {
      latest += 1;
      var mine = latest;
      var csrf = form.querySelector('input[name="_csrf"]');
      var fields = { _csrf: csrf ? csrf.value : '' };
      ['next', 'account'].forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"]');
        if (input) fields[name] = input.value;
      });
      return fetch(form.getAttribute('data-passkey-sign-in'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body && body.error ? body.error.message : say('passkeysUnavailable', 'Passkeys cannot be used right now.'));
            return body;
          });
        })
        .then(function (body) {
          if (mine !== latest) throw superseded();
          return webauthn.startAuthentication({ optionsJSON: body.options, useBrowserAutofill: autofill }).then(function (credential) {
            return { flowToken: body.flow_token, credential: credential };
          });
        })
        .then(function (signed) {
          if (mine !== latest) throw superseded();
          form.querySelector('input[name="flow_token"]').value = signed.flowToken;
          form.querySelector('input[name="credential"]').value = JSON.stringify(signed.credential);
          form.submit();
        });
    };
    var offerInEmailField = function () {
      if (!webauthn.browserSupportsWebAuthnAutofill) return;
      webauthn.browserSupportsWebAuthnAutofill().then(function (supported) {
        // Cancelled when the button starts its own ceremony; nothing to show then.
        if (supported) ceremony(true).catch(function () {});
      });
    };
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (button) button.disabled = true;
      ceremony(false).catch(function (error) {
        if (button) button.disabled = false;
        if (error && error.name === 'NotAllowedError')
          showKeyError(box, { message: say('noPasskeyChosen', 'No passkey was chosen. Try again, or sign in with your email and password.') });
        else showKeyError(box, error);
        offerInEmailField();
      });
    });
    offerInEmailField();
  });

  // Time zone: while none is saved, offer the browser's own (the person saves it).
  document.querySelectorAll('select[data-guess-time-zone]').forEach(function (select) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + zone.replace(/["\\]/g, '') + '"]')) select.value = zone;
  });

  // Confirm dangerous actions.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
})();
