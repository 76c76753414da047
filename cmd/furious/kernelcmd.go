package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/furious-lab/furious/kernel"
)

const kernelUsage = `usage: furious kernel [--in-process] CONNECTION_FILE

Runs the Jupyter kernel (Jupyter launches this with the connection file it
wrote). A supervising process owns the five sockets and runs the Go
interpreter in a child process; if the interpreter dies of an error no code
can recover from (concurrent map writes, out of memory, stack overflow), the
running cell gets the runtime's message, the notebook is told that the
session's state was lost, and a new interpreter starts on the same
connection.

  --in-process   run the interpreter in this process, without a supervisor
                 (a fatal runtime error then ends the kernel)
`

func kernelCmd(args []string) (int, error) {
	fs := flag.NewFlagSet("kernel", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), kernelUsage) }
	inProcess := fs.Bool("in-process", false, "")
	child := fs.Bool("child", false, "") // internal: the supervised interpreter (pipes on fds 3 and 4)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, nil
		}
		return 2, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2, nil
	}
	conn, err := kernel.ReadConnectionFile(fs.Arg(0))
	if err != nil {
		return 1, err
	}
	switch {
	case *child:
		k, err := kernel.NewChild(conn, os.NewFile(3, "from-supervisor"), os.NewFile(4, "to-supervisor"), os.Stderr)
		if err != nil {
			return 1, err
		}
		return k.Serve(), nil
	case *inProcess:
		k, err := kernel.New(conn, os.Stderr)
		if err != nil {
			return 1, err
		}
		return k.Serve(), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return 1, err
	}
	file := fs.Arg(0)
	s, err := kernel.NewSupervisor(conn, os.Stderr, func() *exec.Cmd {
		cmd := exec.Command(exe, "kernel", "--child", file)
		cmd.Env = os.Environ()
		return cmd
	})
	if err != nil {
		return 1, err
	}
	return s.Serve(), nil
}
