package stdlib

import (
	"fmt"
	"io"
	"log"
	"os"
)

// A notebook must not end the kernel's process: the generated tables map
// these symbols (yaegi's extract names them) to versions that panic
// instead, which the session turns into an ordinary cell error.

func osExit(code int) {
	panic(fmt.Sprintf("os.Exit(%d) called in a notebook: the kernel keeps running", code))
}

func osFindProcess(pid int) (*os.Process, error) {
	if pid == os.Getpid() {
		return nil, fmt.Errorf("os.FindProcess(%d): the kernel's own process is not available to notebooks", pid)
	}
	return os.FindProcess(pid)
}

func logFatal(v ...any)            { log.Panic(v...) }
func logFatalf(f string, v ...any) { log.Panicf(f, v...) }
func logFatalln(v ...any)          { log.Panicln(v...) }

// logLogger is log.Logger whose Fatal methods panic; the embedded *log.Logger
// is there for APIs that want one.
type logLogger struct{ *log.Logger }

func logNew(out io.Writer, prefix string, flag int) *logLogger {
	return &logLogger{log.New(out, prefix, flag)}
}

func (l *logLogger) Fatal(v ...any)            { l.Logger.Panic(v...) }
func (l *logLogger) Fatalf(f string, v ...any) { l.Logger.Panicf(f, v...) }
func (l *logLogger) Fatalln(v ...any)          { l.Logger.Panicln(v...) }
