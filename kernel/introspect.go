package kernel

import (
	"encoding/json"

	"github.com/furious-lab/furious/dsl"
)

type codeCursor struct {
	Code        string `json:"code"`
	CursorPos   int    `json:"cursor_pos"`
	DetailLevel int    `json:"detail_level"`
}

func (k *Kernel) complete(m *Message) {
	var req codeCursor
	_ = json.Unmarshal(m.Content, &req)
	matches, start, end := k.sess.Complete(req.Code, req.CursorPos)
	if matches == nil {
		matches = []string{}
	}
	k.reply(k.shell, m, "complete_reply", map[string]any{"status": "ok", "matches": matches,
		"cursor_start": start, "cursor_end": end, "metadata": map[string]any{}})
}

func (k *Kernel) inspect(m *Message) {
	var req codeCursor
	_ = json.Unmarshal(m.Content, &req)
	text, found := k.sess.Inspect(req.Code, req.CursorPos)
	data := map[string]any{}
	if found {
		data["text/plain"] = text
	}
	k.reply(k.shell, m, "inspect_reply", map[string]any{"status": "ok", "found": found,
		"data": data, "metadata": map[string]any{}})
}

func (k *Kernel) isComplete(m *Message) {
	var req codeCursor
	_ = json.Unmarshal(m.Content, &req)
	status, indent := dsl.IsComplete(req.Code)
	content := map[string]any{"status": status}
	if status == "incomplete" {
		content["indent"] = indent
	}
	k.reply(k.shell, m, "is_complete_reply", content)
}
