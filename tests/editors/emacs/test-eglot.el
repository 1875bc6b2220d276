;;; test-eglot.el --- Emacs eglot against codex-lsp and the fake Responses server  -*- lexical-binding: t; -*-
;;
;; Run: emacs --batch -l test-eglot.el   (without -Q: Debian's site-start puts
;; elpa-eglot on the load path).  Env: CODEX_BIN_DIR = folder holding
;; codex-lsp and fake-responses.  Prints PASS/FAIL lines and exits 0 or 1.
;;
;; A "Codex: Simplify" code action is asked for and executed the way
;; `eglot-code-actions' does it (eglot 1.9 has no codeAction/resolve, so the
;; server uses the command path: workspace/executeCommand, then
;; workspace/applyEdit), and the scripted edit must land in the buffer.

(require 'eglot)
(require 'subr-x)

(defvar codex-test-bin-dir
  (file-name-as-directory
   (or (getenv "CODEX_BIN_DIR")
       (expand-file-name "../../../target/debug"
                         (file-name-directory (or load-file-name buffer-file-name))))))

(defvar codex-test-failures 0)
(defvar codex-test-fake nil)

(defun codex-test-log (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n")))

(defun codex-test-wait (what pred &optional seconds)
  "Process events until PRED is non-nil, or fail after SECONDS."
  (let ((deadline (+ (float-time) (or seconds 20))))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall pred)
      (error "Timed out waiting for %s" what))))

(defun codex-test-start-fake (scenario-json)
  "Start fake-responses with SCENARIO-JSON; return its base URL."
  (let* ((script (make-temp-file "codex-scenario" nil ".json" scenario-json))
         (buf (generate-new-buffer " *fake-responses*"))
         (proc (make-process
                :name "fake-responses" :buffer buf :noquery t
                :command (list (concat codex-test-bin-dir "fake-responses")
                               "--port" "0" "--script" script)
                :stderr (get-buffer-create " *fake-responses-stderr*"))))
    (setq codex-test-fake proc)
    (let (url)
      (codex-test-wait "fake-responses URL"
                       (lambda ()
                         (with-current-buffer buf
                           (goto-char (point-min))
                           (when (re-search-forward "^\\(http://127\\.0\\.0\\.1:[0-9]+/v1\\)\r?\n" nil t)
                             (setq url (match-string 1)))))
                       10)
      url)))

(defun codex-test-project (files)
  "A git-initialised temp folder holding FILES ((PATH . TEXT) ...)."
  (let ((root (file-name-as-directory (make-temp-file "codex-eglot-ws" t))))
    (unless (zerop (call-process "git" nil nil nil "init" "-q" root))
      (error "git init failed"))
    (dolist (f files)
      (let ((path (expand-file-name (car f) root)))
        (make-directory (file-name-directory path) t)
        (with-temp-file path (insert (cdr f)))))
    root))

(defmacro codex-test (name &rest body)
  (declare (indent 1))
  `(condition-case err
       (progn ,@body (codex-test-log "PASS %s" ,name))
     (error
      (setq codex-test-failures (1+ codex-test-failures))
      (codex-test-log "FAIL %s: %s" ,name (error-message-string err)))))

(defconst codex-test-sample "def add(a, b):\n    return a+b\n\n\nprint(add(1, 2))\n")
(defconst codex-test-fixed "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n")
(defconst codex-test-patch
  (string-join '("*** Begin Patch"
                 "*** Update File: sample.py"
                 "@@"
                 " def add(a, b):"
                 "-    return a+b"
                 "+    return a + b"
                 "*** End Patch")
               "\n"))

(setq eglot-confirm-server-initiated-edits nil ; Emacs 28's eglot asks otherwise
      eglot-sync-connect t
      eglot-autoshutdown t
      python-indent-guess-indent-offset nil
      inhibit-message nil)

(codex-test "eglot code action applies the scripted edit"
  (let* ((url (codex-test-start-fake
               (json-encode `((rules . [((reply . ,codex-test-patch) (chunkSize . 16))])))))
         (root (codex-test-project `(("sample.py" . ,codex-test-sample))))
         (settings `(:baseUrl ,url :model "test-model-from-emacs" :maxRetries 0)))
    ;; Settings only as initializationOptions: eglot then answers the
    ;; server's workspace/configuration pull with null, which must not undo
    ;; them (the model request below must reach the fake with our model id).
    (setq-default eglot-workspace-configuration nil)
    (add-to-list 'eglot-server-programs
                 `(python-mode . (,(concat codex-test-bin-dir "codex-lsp")
                                  :initializationOptions ,settings)))
    (find-file (expand-file-name "sample.py" root))
    (setq buffer-undo-list nil)
    (apply #'eglot (eglot--guess-contact))
    (codex-test-wait "eglot to connect" (lambda () (eglot-current-server)))
    (let* ((server (eglot-current-server))
           (kind "refactor.rewrite.codex.simplify")
           (actions (eglot-code-actions (point-min) (point-max) kind)))
      (codex-test-log "server %s; actions: %S" (plist-get (eglot--server-info server) :name)
                      (mapcar (lambda (a) (plist-get a :title)) actions))
      (unless (= 1 (length actions))
        (error "expected one %s action, got %S" kind actions))
      ;; Exactly what `M-x eglot-code-actions' does once an action is picked.
      (eglot--read-execute-code-action actions server kind)
      (codex-test-wait "the edit to land"
                       (lambda () (equal (buffer-string) codex-test-fixed)))
      (unless (equal (buffer-string) codex-test-fixed)
        (error "buffer is %S" (buffer-string)))
      ;; The model saw the settings given through eglot.
      (let ((sent (with-temp-buffer
                    (call-process "python3" nil t nil "-c"
                                  "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1]).read().decode())"
                                  (concat (string-remove-suffix "/v1" url) "/__requests"))
                    (buffer-string))))
        (unless (string-match-p "test-model-from-emacs" sent)
          (error "model setting did not reach the model request: %s" sent)))
      ;; eglot amalgamates the edit into one change group: one undo step
      ;; (up to the previous boundary) restores the original text.
      (let ((inhibit-read-only t))
        (primitive-undo 1 (if (car buffer-undo-list) buffer-undo-list (cdr buffer-undo-list))))
      (unless (equal (buffer-string) codex-test-sample)
        (error "one undo step did not restore the text: %S" (buffer-string)))
      (eglot-shutdown server))))

(when (process-live-p codex-test-fake) (delete-process codex-test-fake))

;; The README's `codex-rewrite' command, verbatim: "Codex: Rewrite…" needs an
;; instruction that eglot cannot prompt for, so it sends codex.runAction
;; itself; the server applies the edit with workspace/applyEdit.
(defun codex-rewrite (beg end instruction)
  "Rewrite the region with Codex following INSTRUCTION."
  (interactive "r\nsCodex rewrite: ")
  (eglot-execute-command
   (eglot--current-server-or-lose) 'codex.runAction
   (vector (list :action "rewrite"
                 :textDocument (eglot--TextDocumentIdentifier)
                 :range (list :start (eglot--pos-to-lsp-position beg)
                              :end (eglot--pos-to-lsp-position end))
                 :instruction instruction))))

(codex-test "codex-rewrite (README snippet) applies the scripted edit"
  (let* ((instruction "space out the plus operator")
         (url (codex-test-start-fake
               (json-encode `((rules . [((match . ,instruction) (reply . ,codex-test-patch))])))))
         (root (codex-test-project `(("sample.py" . ,codex-test-sample)))))
    (setq eglot-server-programs
          `((python-mode . (,(concat codex-test-bin-dir "codex-lsp")
                            :initializationOptions (:baseUrl ,url :maxRetries 0)))))
    (find-file (expand-file-name "sample.py" root))
    (apply #'eglot (eglot--guess-contact))
    (codex-test-wait "eglot to connect" (lambda () (eglot-current-server)))
    (codex-rewrite (point-min) (point-max) instruction)
    (codex-test-wait "the rewrite to land"
                     (lambda () (equal (buffer-string) codex-test-fixed)))
    (eglot-shutdown (eglot-current-server))))

(when (process-live-p codex-test-fake) (delete-process codex-test-fake))
(codex-test-log "emacs-tests: %s" (if (zerop codex-test-failures) "ok" "failed"))
(kill-emacs (if (zerop codex-test-failures) 0 1))
