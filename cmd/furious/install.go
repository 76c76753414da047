package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// kernelspec is the kernel.json Jupyter reads.
type kernelspec struct {
	Argv          []string       `json:"argv"`
	DisplayName   string         `json:"display_name"`
	Language      string         `json:"language"`
	InterruptMode string         `json:"interrupt_mode"`
	Env           map[string]any `json:"env,omitempty"`
	Metadata      map[string]any `json:"metadata"`
}

func install(args []string) error {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: furious install [--user | --prefix DIR]\n\n"+
			"Writes the Jupyter kernelspec \"furious\" (\"Go (furious)\"): system-wide by default.\n\n")
		fs.PrintDefaults()
	}
	user := fs.Bool("user", false, "install for the current user (Jupyter's data dir)")
	prefix := fs.String("prefix", "", "install under DIR/share/jupyter/kernels")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user && *prefix != "" {
		return errors.New("install: --user and --prefix exclude each other")
	}
	var base string
	switch {
	case *prefix != "":
		p, err := filepath.Abs(*prefix)
		if err != nil {
			return err
		}
		base = filepath.Join(p, "share", "jupyter", "kernels")
	case *user:
		base = filepath.Join(userDataDir(), "kernels")
	default:
		base = "/usr/local/share/jupyter/kernels"
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return err
	}
	dir := filepath.Join(base, "furious")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	spec := kernelspec{
		Argv:          []string{exe, "kernel", "{connection_file}"},
		DisplayName:   "Go (furious)",
		Language:      "go",
		InterruptMode: "message",
		Metadata:      map[string]any{"debugger": false},
	}
	b, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	for _, size := range []int{32, 64} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size)), logo(size), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("installed kernelspec furious in %s\n", dir)
	return nil
}

// userDataDir is Jupyter's per-user data directory.
func userDataDir() string {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "jupyter")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "jupyter")
}

// logo draws the kernel's logo: a gopher-blue disc crossed by three
// orange streaks (speed lines), size×size pixels, as PNG.
func logo(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x00, 0xad, 0xd8, 0xff}
	orange := color.NRGBA{0xff, 0x6a, 0x00, 0xff}
	c := float64(size-1) / 2
	r := float64(size) / 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)-c, float64(y)-c
			d := math.Hypot(dx, dy)
			if d > r {
				continue
			}
			col := blue
			// Three slanted streaks.
			u := (float64(y) + 0.4*float64(x)) / float64(size) * 6
			if frac := u - math.Floor(u); frac < 0.28 && math.Floor(u) >= 1 && math.Floor(u) <= 5 && math.Mod(math.Floor(u), 2) == 1 {
				col = orange
			}
			if d > r-1 {
				col.A = uint8(255 * (r - d))
			}
			img.SetNRGBA(x, y, col)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
