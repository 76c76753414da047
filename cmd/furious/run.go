package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/dsl"
)

// outputs collects a cell's outputs in nbformat 4 form while echoing its
// printed text to a terminal.
type outputs struct {
	mu    sync.Mutex
	list  []map[string]any
	echo  io.Writer // nil: no echo
	count int       // execution count of the current cell
}

func (o *outputs) stream(name string) io.Writer { return &streamOut{o, name} }

type streamOut struct {
	o    *outputs
	name string
}

func (s *streamOut) Write(p []byte) (int, error) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	if s.o.echo != nil {
		if s.name == "stderr" {
			os.Stderr.Write(p)
		} else {
			s.o.echo.Write(p)
		}
	}
	if n := len(s.o.list); n > 0 && s.o.list[n-1]["output_type"] == "stream" && s.o.list[n-1]["name"] == s.name {
		s.o.list[n-1]["text"] = s.o.list[n-1]["text"].(string) + string(p)
	} else {
		s.o.list = append(s.o.list, map[string]any{"output_type": "stream", "name": s.name, "text": string(p)})
	}
	return len(p), nil
}

// Display implements display.Publisher: display_data outputs; an update
// replaces the earlier output with the same display id.
func (o *outputs) Display(d display.Data, update bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, _ := d.Transient["display_id"].(string)
	out := map[string]any{"output_type": "display_data", "data": bundle(d), "metadata": orEmpty(d.Metadata)}
	if update && id != "" {
		for i, prev := range o.list {
			if prev["_id"] == id {
				out["_id"] = id
				o.list[i] = out
				return
			}
		}
		return
	}
	if id != "" {
		out["_id"] = id
	}
	o.list = append(o.list, out)
	if o.echo != nil {
		fmt.Fprintln(o.echo, textOf(d))
	}
}

// Clear implements display.Publisher.
func (o *outputs) Clear(wait bool) {
	o.mu.Lock()
	o.list = nil
	o.mu.Unlock()
}

func (o *outputs) take() []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.list
	o.list = nil
	for _, m := range l {
		delete(m, "_id")
	}
	if l == nil {
		l = []map[string]any{}
	}
	return l
}

func bundle(d display.Data) map[string]any {
	out := map[string]any{}
	for k, v := range d.Data {
		out[k] = v // []byte becomes base64 in JSON, as nbformat wants
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func textOf(d display.Data) string {
	if s, ok := d.Data[display.MIMEText].(string); ok {
		return s
	}
	return d.String()
}

func newRunSession(o *outputs) (*dsl.Session, error) {
	s, err := dsl.New(dsl.Options{Stdout: o.stream("stdout"), Stderr: o.stream("stderr"), Stdin: os.Stdin})
	if err != nil {
		return nil, err
	}
	display.SetPublisher(o)
	return s, nil
}

// interruptible returns a context cancelled by SIGINT, for one cell.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func runCmd(args []string) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: furious run FILE.ipynb|FILE.go [-o OUT.ipynb | --inplace] [-q]

Executes every cell of a notebook (or a Go file as one cell) headless and
exits 1 naming the first failing cell. The executed notebook is written to
FILE.nbconvert.ipynb (as jupyter nbconvert does); the input is never
overwritten unless --inplace is given.

`)
		fs.PrintDefaults()
	}
	outPath := fs.String("o", "", "write the executed notebook here (default FILE.nbconvert.ipynb; none for .go)")
	inplace := fs.Bool("inplace", false, "replace the input notebook with the executed one")
	quiet := fs.Bool("q", false, "do not echo cell output")
	// Accept flags after the file name too.
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0, nil
			}
			return 2, err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return 2, nil
	}
	if *inplace && *outPath != "" {
		return 2, errors.New("run: -o and --inplace exclude each other")
	}
	in := files[0]
	o := &outputs{}
	if !*quiet {
		o.echo = os.Stdout
	}
	s, err := newRunSession(o)
	if err != nil {
		return 1, err
	}
	if strings.HasSuffix(in, ".go") {
		return runGo(s, o, in, *outPath)
	}
	out := *outPath
	switch {
	case *inplace:
		out = in
	case out == "":
		out = strings.TrimSuffix(in, ".ipynb") + ".nbconvert.ipynb"
	}
	return runNotebook(s, o, in, out)
}

// runGo executes a Go file as one cell (a package clause is dropped and
// main, when declared, is called) and optionally saves it as a notebook.
func runGo(s *dsl.Session, o *outputs, in, out string) (int, error) {
	b, err := os.ReadFile(in)
	if err != nil {
		return 1, err
	}
	src := string(b)
	code := dropPackageClause(src)
	if declaresMain(code) {
		// yaegi would run a declared main on every evaluation: rename it.
		code = strings.Replace(code, "\nfunc main()", "\nfunc furiousMain()", 1) + "\nfuriousMain()"
	}
	ctx, done := interruptible()
	res, ok, evalErr := s.Eval(ctx, code)
	done()
	outs := o.take()
	if ok {
		outs = append(outs, map[string]any{"output_type": "execute_result", "execution_count": 1,
			"data": bundle(res), "metadata": orEmpty(res.Metadata)})
		if o.echo != nil {
			fmt.Fprintln(o.echo, textOf(res))
		}
	}
	if evalErr != nil {
		outs = append(outs, errorOutput(evalErr))
	}
	if out != "" {
		nb := newNotebook([]map[string]any{codeCell(src, 1, outs)})
		if err := writeNotebook(out, nb); err != nil {
			return 1, err
		}
	}
	if evalErr != nil {
		printError(evalErr)
		return 1, fmt.Errorf("%s failed", in)
	}
	return 0, nil
}

func dropPackageClause(src string) string {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "package ") {
			lines[i] = "" // keep line numbers
			break
		}
		if t != "" && !strings.HasPrefix(t, "//") {
			break
		}
	}
	return strings.Join(lines, "\n")
}

func declaresMain(code string) bool {
	return strings.Contains(code, "\nfunc main()")
}

func errorOutput(err error) map[string]any {
	var e *dsl.Error
	if !errors.As(err, &e) {
		e = &dsl.Error{Name: "Error", Value: err.Error()}
	}
	tb := e.Traceback
	if len(tb) == 0 {
		tb = []string{e.Name + ": " + e.Value}
	}
	return map[string]any{"output_type": "error", "ename": e.Name, "evalue": e.Value, "traceback": tb}
}

func printError(err error) {
	out := errorOutput(err)
	for _, l := range out["traceback"].([]string) {
		fmt.Fprintln(os.Stderr, l)
	}
}

func newNotebook(cells []map[string]any) map[string]any {
	return map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{
			"kernelspec":    map[string]any{"name": "furious", "display_name": "Go (furious)", "language": "go"},
			"language_info": map[string]any{"name": "go", "file_extension": ".go", "mimetype": "text/x-go"},
		},
		"cells": cells,
	}
}

var cellSeq int

func codeCell(src string, count int, outs []map[string]any) map[string]any {
	cellSeq++
	return map[string]any{"cell_type": "code", "id": fmt.Sprintf("furious-%d", cellSeq), "metadata": map[string]any{},
		"source": src, "execution_count": count, "outputs": outs}
}

// runNotebook executes the code cells of in in order and writes the
// notebook with their outputs to out; the first failing cell stops the run
// (the notebook is still written, up to and including it).
func runNotebook(s *dsl.Session, o *outputs, in, out string) (int, error) {
	b, err := os.ReadFile(in)
	if err != nil {
		return 1, err
	}
	var nb map[string]any
	if err := json.Unmarshal(b, &nb); err != nil {
		return 1, fmt.Errorf("%s: not a notebook: %w", in, err)
	}
	if v, _ := nb["nbformat"].(float64); v != 4 {
		return 1, fmt.Errorf("%s: nbformat %v, want 4", in, nb["nbformat"])
	}
	cells, _ := nb["cells"].([]any)
	count := 0
	var failed error
	for i, c := range cells {
		cell, ok := c.(map[string]any)
		if !ok || cell["cell_type"] != "code" {
			continue
		}
		if failed != nil {
			cell["outputs"] = []any{}
			cell["execution_count"] = nil
			continue
		}
		src := sourceText(cell["source"])
		count++
		ctx, done := interruptible()
		res, hasRes, evalErr := s.Eval(ctx, src)
		done()
		outs := o.take()
		if hasRes {
			outs = append(outs, map[string]any{"output_type": "execute_result", "execution_count": count,
				"data": bundle(res), "metadata": orEmpty(res.Metadata)})
			if o.echo != nil {
				fmt.Fprintln(o.echo, textOf(res))
			}
		}
		if evalErr != nil {
			outs = append(outs, errorOutput(evalErr))
			failed = fmt.Errorf("cell %d (code cell %d) failed: %v", i+1, count, evalErr)
			printError(evalErr)
		}
		cell["outputs"] = outs
		cell["execution_count"] = count
		if _, ok := cell["metadata"]; !ok {
			cell["metadata"] = map[string]any{}
		}
	}
	if nb["metadata"] == nil {
		nb["metadata"] = map[string]any{}
	}
	md := nb["metadata"].(map[string]any)
	md["language_info"] = map[string]any{"name": "go", "file_extension": ".go", "mimetype": "text/x-go"}
	if err := writeNotebook(out, nb); err != nil {
		return 1, err
	}
	if failed != nil {
		return 1, fmt.Errorf("%s: %w", in, failed)
	}
	return 0, nil
}

func sourceText(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []any:
		var b strings.Builder
		for _, l := range s {
			str, _ := l.(string)
			b.WriteString(str)
		}
		return b.String()
	}
	return ""
}

func writeNotebook(path string, nb map[string]any) error {
	b, err := json.MarshalIndent(nb, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
