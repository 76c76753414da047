// Command furious is the furious notebook kernel and its tools.
//
//	furious install [--user | --prefix DIR]   write the Jupyter kernelspec "furious"
//	furious kernel CONNECTION_FILE            run as a Jupyter kernel (what Jupyter launches)
//	furious repl                              an interactive Go prompt
//	furious run FILE.ipynb|FILE.go [-o OUT]   execute a notebook (into FILE.nbconvert.ipynb) or Go script headless
//	furious bench [--device cpu|gpu] [--L 2048,8192]   time the SSD forms, checked against the oracle
//	furious export [--preset 2mamba] [axis flags] DIR   the model as PyTorch (model.py, weights, torchrun train.py)
//	furious version                           versions and compute backends
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `usage:
  furious install [--user | --prefix DIR]   install the Jupyter kernelspec "furious"
  furious kernel CONNECTION_FILE            run as a Jupyter kernel
  furious repl                              interactive Go prompt
  furious run FILE.ipynb|FILE.go [-o OUT.ipynb | --inplace]
                                            execute every cell into FILE.nbconvert.ipynb;
                                            exit 1 naming the failing cell
  furious bench [--device cpu|gpu] [--L 2048,8192] [--H 4] [--d 64] [--reps 5]
                                            time the SSD forms; each row checked against float64
  furious export [--preset 2mamba] [--d-model 64 --heads 2 ...] [axis flags] [--weights FILE] [--force] DIR
                                            the model as a PyTorch module, its weights and a torchrun
                                            training script whose checkpoints load back (nn.LoadTorch)
  furious version                           versions and compute backends

Every command answers --help.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	code := 0
	switch cmd {
	case "install":
		err = install(args)
	case "kernel":
		code, err = kernelCmd(args)
	case "repl":
		err = repl(args)
	case "run":
		code, err = runCmd(args)
	case "bench":
		err = benchCmd(args)
	case "export":
		err = exportCmd(args, os.Stdout)
	case "version", "--version", "-v":
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Println("usage: furious version\n\nPrints the versions of furious, Go and the libraries, and the compute backends found.")
			break
		}
		version(os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "furious: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) { // --help: the usage was printed
		err = nil
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "furious:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
