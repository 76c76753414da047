package main

import (
	"errors"
	"os"

	"github.com/furious-lab/furious/kernel"
)

func kernelCmd(args []string) (int, error) {
	if len(args) != 1 {
		return 2, errors.New("usage: furious kernel CONNECTION_FILE")
	}
	conn, err := kernel.ReadConnectionFile(args[0])
	if err != nil {
		return 1, err
	}
	k, err := kernel.New(conn, os.Stderr)
	if err != nil {
		return 1, err
	}
	return k.Serve(), nil
}
