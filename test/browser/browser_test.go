// Package browser is the end-to-end test a user's session goes through:
// Debian's jupyter-notebook server on 127.0.0.1 with a token, the furious
// kernelspec installed in a temporary prefix, and headless Debian chromium
// driven through the DevTools protocol (chromedp). It opens a notebook that
// uses the furious kernel, runs a cell that draws a figure (Shift+Enter, as a
// user would), waits for the image to appear in the page and checks that
// the browser decoded it. A screenshot is kept as a test artifact under
// out/ (or $FURIOUS_ARTIFACTS) and its path logged.
//
// Needs: apt-get install -y chromium jupyter-notebook. Skips without them,
// except under CI=true where it fails.
package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/furious-lab/furious/test/notebooks"
)

// figureCell draws a decay mask profile with gonum/plot; the kernel sends it
// as image/png.
const figureCell = `import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

a := ssd.LogDecaySoftplus(tensor.AddScalar(tensor.NewRNG(1).Randn(1, 1, 64), -3)) // a ≈ −0.05
m := ssd.DecayMask(a, 0, 0)
pts := make(plotter.XYs, 64)
for j := range pts {
	pts[j].X = float64(j)
	pts[j].Y = m.At(63, j) // AM_63,j = exp(a_{j+1} + … + a_63)
}
p := plot.New()
p.Title.Text = "decay profile of the last row"
line, _ := plotter.NewLine(pts)
p.Add(line)
display.Plot(p)`

func notebookJSON() string {
	lines := strings.Split(figureCell, "\n")
	src := make([]string, len(lines))
	for i, l := range lines {
		if i < len(lines)-1 {
			l += "\n"
		}
		src[i] = fmt.Sprintf("%q", l)
	}
	return `{"cells": [{"cell_type": "code", "execution_count": null, "id": "fig", "metadata": {}, "outputs": [],
 "source": [` + strings.Join(src, ", ") + `]}],
 "metadata": {"kernelspec": {"display_name": "Go (furious)", "language": "go", "name": "furious"},
  "language_info": {"name": "go", "file_extension": ".go", "mimetype": "text/x-go"}},
 "nbformat": 4, "nbformat_minor": 5}`
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv("FURIOUS_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(notebooks.Root(), "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestNotebookInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const pkgs = "chromium jupyter-notebook"
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		notebooks.Missing(t, "chromium", pkgs)
	}
	server, err := exec.LookPath("jupyter-notebook")
	if err != nil {
		notebooks.Missing(t, "jupyter-notebook", pkgs)
	}

	dir := t.TempDir()
	env := notebooks.Env(t, notebooks.Build(t, dir), dir)
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "figure.ipynb"), []byte(notebookJSON()), 0o644); err != nil {
		t.Fatal(err)
	}

	// The notebook server, loopback only, with a random token.
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	port := freePort(t)
	srv := exec.Command(server, "--no-browser", "--allow-root", "--ip=127.0.0.1",
		fmt.Sprintf("--port=%d", port), "--port-retries=0", "--NotebookApp.token="+token,
		"--notebook-dir="+work)
	srv.Env = env
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("jupyter-notebook log:\n%s", b)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/api/kernelspecs?token=" + token)
		if err == nil {
			body := make([]byte, 4096)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if !strings.Contains(string(body[:n]), `"furious"`) {
					t.Fatalf("the server does not list the furious kernelspec: %s", body[:n])
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jupyter-notebook did not answer on %s within 60 s", base)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Headless chromium with a fresh profile.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "chromium-profile")),
		chromedp.WindowSize(1200, 1300),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	shot := filepath.Join(artifactDir(t), "browser-notebook.png")
	var png []byte
	defer func() {
		if len(png) == 0 { // failing before the end: keep what the page shows
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if chromedp.Run(sctx, chromedp.FullScreenshot(&png, 100)) == nil {
				os.WriteFile(shot, png, 0o644)
				t.Logf("screenshot (at failure): %s", shot)
			}
		}
	}()

	var kernel string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/notebooks/figure.ipynb?token="+token),
		chromedp.WaitVisible(`.CodeMirror`, chromedp.ByQuery),
		// the kernel has started and its websocket is connected
		chromedp.Poll(`typeof Jupyter !== "undefined" && Jupyter.notebook && Jupyter.notebook.kernel &&
			Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.name`, &kernel,
			chromedp.WithPollingTimeout(90*time.Second)),
	)
	if err != nil {
		t.Fatalf("opening the notebook: %v", err)
	}
	if kernel != "furious" {
		t.Fatalf("the notebook runs kernel %q, want furious", kernel)
	}

	// Run the cell as a user does: click into it, Shift+Enter.
	err = chromedp.Run(ctx,
		chromedp.Click(`.cell .CodeMirror`, chromedp.ByQuery),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(input.ModifierShift)),
		chromedp.WaitVisible(`.output_area img`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("running the figure cell: %v", err)
	}
	var width, height int
	var src string
	err = chromedp.Run(ctx,
		chromedp.Poll(`(() => { const i = document.querySelector(".output_area img"); return i.complete && i.naturalWidth > 0 })()`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.querySelector(".output_area img").naturalWidth`, &width),
		chromedp.Evaluate(`document.querySelector(".output_area img").naturalHeight`, &height),
		chromedp.Evaluate(`document.querySelector(".output_area img").src.slice(0, 22)`, &src),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatalf("reading the image: %v", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if src != "data:image/png;base64," {
		t.Errorf("image source starts %q, want a PNG data URL", src)
	}
	if width < 100 || height < 100 {
		t.Errorf("decoded image is %d×%d, want a figure", width, height)
	}
	var errs int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll(".output_error").length`, &errs)); err != nil {
		t.Fatal(err)
	}
	if errs != 0 {
		t.Errorf("the cell shows %d error outputs", errs)
	}
}
