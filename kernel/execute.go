package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/dsl"
)

type executeRequest struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func orTrue(b *bool) bool { return b == nil || *b }

func (k *Kernel) execute(m *Message) {
	var req executeRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.reply(k.shell, m, "execute_reply", map[string]any{"status": "error", "ename": "BadRequest",
			"evalue": err.Error(), "traceback": []string{err.Error()}, "execution_count": k.execCount})
		return
	}
	store := orTrue(req.StoreHistory) && !req.Silent
	if store {
		k.execCount++
		if k.pipeOut != nil {
			_ = k.pipeOut.write(chCount, [][]byte{[]byte(strconv.Itoa(k.execCount))})
		}
	}
	count := k.execCount
	if !req.Silent {
		k.publish(m, "execute_input", map[string]any{"code": req.Code, "execution_count": count})
	}
	if store {
		k.history = append(k.history, historyEntry{session: 1, line: count, input: req.Code})
	}

	if name, ok := helpQuery(req.Code); ok {
		text, found := k.sess.Inspect(name, len(name))
		payload := []any{}
		if found {
			payload = append(payload, map[string]any{"source": "page", "data": map[string]any{"text/plain": text}, "start": 0})
		} else if !req.Silent {
			k.publish(m, "stream", map[string]any{"name": "stderr", "text": "no documentation found for " + name + "\n"})
		}
		k.reply(k.shell, m, "execute_reply", map[string]any{"status": "ok", "execution_count": count,
			"user_expressions": map[string]any{}, "payload": payload})
		return
	}

	ctx, cancel := context.WithCancel(k.ctx)
	k.execMu.Lock()
	k.cancel = cancel
	k.execMu.Unlock()
	k.current.Store(&execState{msg: m, allowStdin: orTrue(req.AllowStdin), ctx: ctx})
	result, hasResult, err := k.sess.Eval(ctx, req.Code)
	k.streams.flush()
	k.execMu.Lock()
	k.cancel = nil
	k.execMu.Unlock()
	cancel()

	if err != nil {
		e := asError(err)
		content := map[string]any{"ename": e.Name, "evalue": e.Value, "traceback": traceback(e)}
		if !req.Silent {
			k.publish(m, "error", content)
		}
		content["status"] = "error"
		content["execution_count"] = count
		k.reply(k.shell, m, "execute_reply", content)
		if orTrue(req.StopOnError) {
			k.abortQueued()
		}
		return
	}
	if hasResult && !req.Silent {
		k.publish(m, "execute_result", map[string]any{"execution_count": count,
			"data": result.Data, "metadata": orMap(result.Metadata)})
	}
	uex := map[string]any{}
	for name, expr := range req.UserExpressions {
		d, ok, err := k.sess.Eval(k.ctx, expr)
		switch {
		case err != nil:
			e := asError(err)
			uex[name] = map[string]any{"status": "error", "ename": e.Name, "evalue": e.Value, "traceback": traceback(e)}
		case !ok:
			uex[name] = map[string]any{"status": "ok", "data": map[string]any{}, "metadata": map[string]any{}}
		default:
			uex[name] = map[string]any{"status": "ok", "data": d.Data, "metadata": orMap(d.Metadata)}
		}
	}
	k.reply(k.shell, m, "execute_reply", map[string]any{"status": "ok", "execution_count": count,
		"user_expressions": uex, "payload": []any{}})
}

var helpRE = regexp.MustCompile(`^\s*(?:\?{1,2}\s*([\pL_][\pL\pN_.]*)|([\pL_][\pL\pN_.]*)\s*\?{1,2})\s*$`)

// helpQuery recognises "name?", "name??" and "?name": a request for the
// documentation of name, shown in the pager.
func helpQuery(code string) (string, bool) {
	m := helpRE.FindStringSubmatch(code)
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}

func orMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func asError(err error) *dsl.Error {
	var e *dsl.Error
	if errors.As(err, &e) {
		return e
	}
	return &dsl.Error{Name: "Error", Value: err.Error()}
}

func traceback(e *dsl.Error) []string {
	if len(e.Traceback) > 0 {
		return e.Traceback
	}
	return []string{e.Name + ": " + e.Value}
}

// abortQueued answers the execute requests already waiting after a failed
// cell with status "aborted" (stop_on_error); other requests stay queued.
func (k *Kernel) abortQueued() {
	// Requests sent together with the failing one may still be in flight.
	// Only those queued now are aborted: requests a client sends after
	// seeing the error run normally.
	time.Sleep(5 * time.Millisecond)
	var keep []*Message
	for n := len(k.queue); n > 0; n-- {
		q := <-k.queue
		if q.Header.MsgType != "execute_request" {
			keep = append(keep, q)
			continue
		}
		k.busy(q)
		k.reply(k.shell, q, "execute_reply", map[string]any{"status": "aborted", "execution_count": k.execCount})
		k.idle(q)
		k.done(q)
	}
	k.front = append(keep, k.front...)
}

// Display implements display.Publisher: display_data or
// update_display_data, after the output printed so far.
func (k *Kernel) Display(d display.Data, update bool) {
	k.streams.flush()
	msgType := "display_data"
	if update {
		msgType = "update_display_data"
	}
	k.publish(k.parent(), msgType, map[string]any{"data": orMap(d.Data), "metadata": orMap(d.Metadata),
		"transient": orMap(d.Transient)})
}

// Clear implements display.Publisher with clear_output.
func (k *Kernel) Clear(wait bool) {
	k.streams.flush()
	k.publish(k.parent(), "clear_output", map[string]any{"wait": wait})
}

func (k *Kernel) parent() *Message {
	if st := k.current.Load(); st != nil {
		return st.msg
	}
	return nil
}

// stdinReader is the cell's standard input: each read with no buffered
// text sends an input_request to the client and waits for its reply.
type stdinReader struct {
	k   *Kernel
	buf []byte
}

func (r *stdinReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		line, err := r.k.requestInput("", false)
		if err != nil {
			return 0, err
		}
		r.buf = []byte(line + "\n")
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// errNoStdin is returned when the client does not allow stdin.
var errNoStdin = errors.New("standard input is not available: the client sent allow_stdin=false")

func (k *Kernel) requestInput(prompt string, password bool) (string, error) {
	st := k.current.Load()
	if st == nil || !st.allowStdin {
		return "", errNoStdin
	}
	k.streams.flush()
	// Drop stale replies.
	for len(k.inputs) > 0 {
		<-k.inputs
	}
	out, err := k.message(st.msg, "input_request", map[string]any{"prompt": prompt, "password": password})
	if err != nil {
		return "", err
	}
	out.Identities = st.msg.Identities
	k.sendOn(k.stdin, out)
	select {
	case m := <-k.inputs:
		var c struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return "", err
		}
		return strings.TrimRight(c.Value, "\r\n"), nil
	case <-st.ctx.Done():
		return "", st.ctx.Err()
	case <-k.ctx.Done():
		return "", errKernelStopped
	}
}
