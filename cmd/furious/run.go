package main

import "errors"

func runCmd(args []string) (int, error) { return 1, errors.New("run: not built yet") }
