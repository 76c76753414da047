package kernel

import (
	"encoding/json"
	"regexp"
	"strings"
)

// globRE turns a history search pattern (* any text, ? one character) into
// an anchored regular expression.
func globRE(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range pat {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

type historyRequest struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"`
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           int    `json:"stop"`
	N              int    `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

// historyReply answers tail, range and search requests from this session's
// inputs (session number 1; the kernel keeps no history across restarts).
func (k *Kernel) historyReply(m *Message) {
	var req historyRequest
	_ = json.Unmarshal(m.Content, &req)
	var sel []historyEntry
	switch req.HistAccessType {
	case "tail":
		sel = k.history
		if req.N > 0 && len(sel) > req.N {
			sel = sel[len(sel)-req.N:]
		}
	case "range":
		for _, h := range k.history {
			if (req.Session == 0 || req.Session == h.session || req.Session < 0) &&
				h.line >= req.Start && (req.Stop <= 0 || h.line < req.Stop) {
				sel = append(sel, h)
			}
		}
	case "search":
		pat := req.Pattern
		if pat == "" {
			pat = "*"
		}
		re := globRE(pat)
		seen := map[string]bool{}
		for i := len(k.history) - 1; i >= 0; i-- {
			h := k.history[i]
			if !re.MatchString(h.input) {
				continue
			}
			if req.Unique && seen[h.input] {
				continue
			}
			seen[h.input] = true
			sel = append([]historyEntry{h}, sel...)
			if req.N > 0 && len(sel) >= req.N {
				break
			}
		}
	}
	out := make([]any, 0, len(sel))
	for _, h := range sel {
		if req.Output {
			out = append(out, []any{h.session, h.line, []any{h.input, nil}})
		} else {
			out = append(out, []any{h.session, h.line, h.input})
		}
	}
	k.reply(k.shell, m, "history_reply", map[string]any{"status": "ok", "history": out})
}
