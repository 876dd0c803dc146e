package app

// What closing a folder would lose, asking the user before losing it, and
// trusting a folder's configuration: the app's questions to its user.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"gatewave.dev/sessiond/tasks"
)

// maxUnsaved bounds what SetUnsaved keeps; a dialog names a few anyway.
const maxUnsaved = 1000

// SetUnsaved tells the app which open tabs have unsaved changes (workspace
// paths); the page calls it whenever that changes, so that closing the
// window or switching folders can ask first without a round trip to a page
// that may be busy.
func (a *API) SetUnsaved(paths []string) {
	paths = capped(paths, maxUnsaved)
	a.d.mu.Lock()
	a.d.unsaved = paths
	a.d.mu.Unlock()
	a.d.probe.emit(map[string]any{"event": "unsaved", "paths": paths})
}

// TrustFolder asks the user, in a native dialog, whether to trust the open
// folder's configuration (.ide/languages.toml, .ide/tasks.toml) to choose
// programs to run, and remembers a yes for this folder. It reports whether
// the folder is trusted now. Only the user's answer grants trust: neither
// the page nor sessiond's API can.
func (a *API) TrustFolder() (bool, error) {
	d := a.d
	d.mu.Lock()
	folder, flag := d.conn.Folder, d.trusted
	d.mu.Unlock()
	if folder == "" || flag == nil {
		return false, errors.New("no folder is open")
	}
	if flag.Load() {
		return true, nil
	}
	if !d.ask(question{
		Title: "Trust this folder?",
		Message: fmt.Sprintf("Trust the files in %s?\n\n"+
			"A trusted folder's .ide/tasks.toml and .ide/languages.toml choose programs that Gatewave runs "+
			"on this computer with your permissions, as build tasks and language servers. "+
			"Trust only folders whose contents you know.", folder),
	}) {
		d.probe.emit(map[string]any{"event": "trust declined", "folder": folder})
		return false, nil
	}
	if err := d.opts.Trust.Trust(folder); err != nil {
		return false, fmt.Errorf("remember the trusted folder: %w", err)
	}
	flag.Store(true)
	d.log.Info("folder trusted", "folder", folder)
	d.probe.emit(map[string]any{"event": "trusted", "folder": folder})
	return true, nil
}

func capped(s []string, n int) []string {
	if len(s) > n {
		s = s[:n]
	}
	return append([]string(nil), s...)
}

// question is a yes/no question for the user; "no" is the safe answer.
type question struct {
	Title   string
	Message string
}

// ask puts q to the user and reports a yes. With no window to ask in, the
// answer is no.
func (d *Desktop) ask(q question) bool {
	if d.confirm != nil {
		return d.confirm(q)
	}
	ctx := d.wailsCtx()
	if ctx == nil {
		return false
	}
	// GTK shows its own Yes and No buttons; Buttons and the defaults apply
	// on macOS and Windows, where No is the default and Escape.
	answer, err := wruntime.MessageDialog(ctx, wruntime.MessageDialogOptions{
		Type:          wruntime.QuestionDialog,
		Title:         q.Title,
		Message:       q.Message,
		Buttons:       []string{"Yes", "No"},
		DefaultButton: "No",
		CancelButton:  "No",
	})
	if err != nil {
		d.log.Error("ask the user", "err", err)
		return false
	}
	return answer == "Yes"
}

// pendingWork is what closing the folder would lose: the page's unsaved
// tabs and sessiond's running tasks (asked of sessiond itself, which knows
// about tasks the page never saw).
func (d *Desktop) pendingWork() (unsaved []string, running []tasks.Info) {
	d.mu.Lock()
	unsaved, srv := capped(d.unsaved, maxUnsaved), d.srv
	d.mu.Unlock()
	if srv != nil {
		for _, t := range srv.Tasks().List() {
			if t.State == tasks.Running {
				running = append(running, t)
			}
		}
	}
	return unsaved, running
}

// confirmDiscard asks before an action that discards the pending work and
// reports whether to go ahead; with nothing pending it does not ask.
func (d *Desktop) confirmDiscard(action string) bool {
	unsaved, running := d.pendingWork()
	if len(unsaved) == 0 && len(running) == 0 {
		return true
	}
	var what []string
	if n := len(unsaved); n > 0 {
		what = append(what, fmt.Sprintf("discard %d unsaved %s", n, plural(n, "file")))
	}
	if n := len(running); n > 0 {
		what = append(what, fmt.Sprintf("stop %d running %s", n, plural(n, "task")))
	}
	msg := action + " and " + strings.Join(what, " and ") + "?"
	if len(unsaved) > 0 {
		msg += "\n\nUnsaved: " + listSome(unsaved)
	}
	if len(running) > 0 {
		names := make([]string, len(running))
		for i, t := range running {
			names[i] = strings.Join(t.Argv, " ")
		}
		msg += "\nRunning: " + listSome(names)
	}
	return d.ask(question{Title: action + "?", Message: msg})
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// listSome joins the first few items, saying how many more there are.
func listSome(items []string) string {
	const show = 5
	if len(items) <= show {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:show], ", ") + fmt.Sprintf(" and %d more", len(items)-show)
}

// beforeClose is Wails' OnBeforeClose: it reports true to keep the window
// open when the user would rather not discard pending work.
func (d *Desktop) beforeClose(context.Context) (prevent bool) {
	if d.forced.Load() {
		return false
	}
	return !d.confirmDiscard("Quit")
}
