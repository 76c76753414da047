package main

import "errors"

func repl(args []string) error { return errors.New("repl: not built yet") }
