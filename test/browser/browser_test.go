// Package browser is the end-to-end test a user's session goes through:
// Debian's jupyter-notebook server on 127.0.0.1 with a token, the furious
// kernelspec installed in a temporary prefix, and headless Debian chromium
// driven through the DevTools protocol (chromedp). It opens a notebook that
// uses the furious kernel and runs its cells (Shift+Enter, as a user
// would): a gonum/plot figure, a display.Heatmap with its colour bar and a
// display.Lines plot of three series with a legend. It waits for the
// images to appear in the page, checks that the browser decoded them at
// their size, and reads their pixels in the page: the colour bar runs from
// viridis yellow at the top to purple at the bottom, and each series'
// colour is in the legend's corner. A screenshot is kept as a test
// artifact under out/ (or $FURIOUS_ARTIFACTS) and its path logged.
//
// Needs: apt-get install -y chromium jupyter-notebook. Skips without them,
// except under CI=true where it fails.
package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image/color"
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
	"github.com/furious-lab/furious/display"
	"github.com/furious-lab/furious/test/notebooks"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotutil"
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

// heatmapCell draws a 48×48 decay mask with display.Heatmap on the colour
// range [0, 1]: its colour bar runs from Viridis(1) at the top to
// Viridis(0) at the bottom.
const heatmapCell = `mask := ssd.DecayMask(tensor.Full(-0.1, 1, 1, 48), 0, 0) // AM_ij = exp(−0.1·(i−j)), (48, 48)
display.Heatmap(mask).Title("decay mask").Labels("key j", "query i").Range(0, 1)`

// linesCell draws three decreasing loss curves on a log axis; the legend
// sits in the top-right corner, which the curves leave empty.
const linesCell = `steps := make([]float64, 50)
train, test, ref := make([]float64, 50), make([]float64, 50), make([]float64, 50)
for i := range steps {
	steps[i] = float64(10 * i)
	train[i] = 0.2 + 3*math.Exp(-float64(i)/8)
	test[i] = 0.3 + 3*math.Exp(-float64(i)/10)
	ref[i] = 0.25 + 2*math.Exp(-float64(i)/6)
}
display.Lines().Line("train", steps, train).Line("test", steps, test).Dashed("2Mamba", steps, ref).
	Title("loss").Labels("step", "loss").LogY()`

// cells are the notebook's code cells, run in order.
var cells = []string{figureCell, heatmapCell, linesCell}

// notebookJSON is a notebook of the given code cells for the furious kernel.
func notebookJSON(codes ...string) string {
	var cs []string
	for k, code := range codes {
		lines := strings.Split(code, "\n")
		src := make([]string, len(lines))
		for i, l := range lines {
			if i < len(lines)-1 {
				l += "\n"
			}
			src[i] = fmt.Sprintf("%q", l)
		}
		cs = append(cs, fmt.Sprintf(`{"cell_type": "code", "execution_count": null, "id": "c%d", "metadata": {}, "outputs": [],
 "source": [%s]}`, k, strings.Join(src, ", ")))
	}
	return `{"cells": [` + strings.Join(cs, ",\n") + `],
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
	if err := os.WriteFile(filepath.Join(work, "figure.ipynb"), []byte(notebookJSON(cells...)), 0o644); err != nil {
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

	// Run the cells as a user does: click into the first, Shift+Enter for
	// each (it runs the selected cell and selects the next).
	err = chromedp.Run(ctx, chromedp.Click(`.cell .CodeMirror`, chromedp.ByQuery))
	if err != nil {
		t.Fatalf("selecting the first cell: %v", err)
	}
	for range cells {
		if err := chromedp.Run(ctx, chromedp.KeyEvent("\r", chromedp.KeyModifiers(input.ModifierShift))); err != nil {
			t.Fatalf("Shift+Enter: %v", err)
		}
	}
	// Every cell shows one decoded image (or an error, which fails below).
	err = chromedp.Run(ctx,
		chromedp.Poll(fmt.Sprintf(`(() => {
			if (document.querySelectorAll(".output_error").length > 0) return true;
			const imgs = [...document.querySelectorAll(".cell .output_area img")];
			return imgs.length >= %d && imgs.every(i => i.complete && i.naturalWidth > 0);
		})()`, len(cells)), nil, chromedp.WithPollingTimeout(120*time.Second)),
	)
	if err != nil {
		t.Fatalf("waiting for the figures: %v", err)
	}
	var errs []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll(".output_error")].map(e => e.innerText)`, &errs)); err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 {
		t.Fatalf("the cells show errors: %q", errs)
	}
	type img struct {
		Src           string
		Width, Height int // decoded size
		ShownW        int // width in the page
	}
	var imgs []img
	var pageH int
	err = chromedp.Run(ctx,
		chromedp.Evaluate(`[...document.querySelectorAll(".cell .output_area img")].map(i =>
			({Src: i.src.slice(0, 22), Width: i.naturalWidth, Height: i.naturalHeight, ShownW: i.getBoundingClientRect().width}))`, &imgs),
		// The notebook scrolls inside #site: a window as tall as the
		// notebook shows every cell in the screenshot.
		chromedp.Evaluate(`document.querySelector("#notebook-container").scrollHeight + 200`, &pageH),
	)
	if err == nil {
		err = chromedp.Run(ctx,
			chromedp.EmulateViewport(1200, int64(min(pageH, 8000))),
			chromedp.Sleep(500*time.Millisecond),
			chromedp.FullScreenshot(&png, 100),
		)
	}
	if err != nil {
		t.Fatalf("reading the images: %v", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if len(imgs) != len(cells) {
		t.Fatalf("%d images in the page, want %d", len(imgs), len(cells))
	}
	for k, im := range imgs {
		if im.Src != "data:image/png;base64," {
			t.Errorf("image %d: source starts %q, want a PNG data URL", k, im.Src)
		}
		if im.Width < 300 || im.Height < 250 || im.ShownW < 300 {
			t.Errorf("image %d is %d×%d (shown %d wide), want a figure", k, im.Width, im.Height, im.ShownW)
		}
	}

	// The heat map's colour bar, read in the page: the rightmost column of
	// the image's right quarter whose top is yellow and bottom purple
	// (Viridis(1) and Viridis(0)), its lightness falling from top to bottom.
	hi, lo := rgbOf(display.Viridis(), 1), rgbOf(display.Viridis(), 0)
	var bar struct {
		X, Top, Bottom int
		Monotone       bool
		Samples        [][3]int
	}
	err = chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`(() => {
		const im = document.querySelectorAll(".cell .output_area img")[1];
		const c = document.createElement("canvas");
		c.width = im.naturalWidth; c.height = im.naturalHeight;
		const g = c.getContext("2d"); g.drawImage(im, 0, 0);
		const px = (x, y) => { const d = g.getImageData(x, y, 1, 1).data; return [d[0], d[1], d[2]]; };
		const near = (p, q) => Math.abs(p[0]-q[0]) <= 12 && Math.abs(p[1]-q[1]) <= 12 && Math.abs(p[2]-q[2]) <= 12;
		const hi = %s, lo = %s, w = c.width, h = c.height;
		for (let x = w - 1; x >= Math.floor(w * 3 / 4); x--) {
			let top = -1, bottom = -1;
			for (let y = 0; y < h; y++) { if (near(px(x, y), hi)) { top = y; break; } }
			for (let y = h - 1; y >= 0; y--) { if (near(px(x, y), lo)) { bottom = y; break; } }
			if (top < 0 || bottom < top + h / 2) continue;
			const samples = [];
			let monotone = true, prev = 1e9;
			for (let k = 0; k <= 10; k++) {
				const p = px(x, Math.round(top + (bottom - top) * k / 10));
				samples.push(p);
				const l = 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
				if (l > prev + 2) monotone = false;
				prev = l;
			}
			return {X: x, Top: top, Bottom: bottom, Monotone: monotone, Samples: samples};
		}
		return {X: -1};
	})()`, jsRGB(hi), jsRGB(lo)), &bar))
	if err != nil {
		t.Fatalf("reading the colour bar: %v", err)
	}
	if bar.X < 0 {
		t.Errorf("no colour bar: no column of the heat map's right quarter runs from %v (top) to %v (bottom)", hi, lo)
	} else if !bar.Monotone {
		t.Errorf("the colour bar at x = %d (rows %d…%d) does not darken downwards: %v", bar.X, bar.Top, bar.Bottom, bar.Samples)
	} else {
		t.Logf("colour bar at x = %d, rows %d…%d, %v", bar.X, bar.Top, bar.Bottom, bar.Samples)
	}

	// The legend: each series' colour in the top-right corner of the line
	// plot, which the decreasing curves leave empty.
	for i, name := range []string{"train", "test", "2Mamba"} {
		c := rgbOf8(plotutil.Color(i))
		var n int
		err = chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`(() => {
			const im = document.querySelectorAll(".cell .output_area img")[2];
			const c = document.createElement("canvas");
			c.width = im.naturalWidth; c.height = im.naturalHeight;
			const g = c.getContext("2d"); g.drawImage(im, 0, 0);
			const x0 = Math.floor(c.width * 0.6), h = Math.floor(c.height * 0.3);
			const d = g.getImageData(x0, 0, c.width - x0, h).data, q = %s;
			let n = 0;
			for (let i = 0; i < d.length; i += 4) {
				if (Math.abs(d[i]-q[0]) <= 12 && Math.abs(d[i+1]-q[1]) <= 12 && Math.abs(d[i+2]-q[2]) <= 12) n++;
			}
			return n;
		})()`, jsRGB(c)), &n))
		if err != nil {
			t.Fatalf("reading the legend: %v", err)
		}
		if n < 10 {
			t.Errorf("legend: %d pixels of %s's colour %v in the plot's top-right corner, want its line sample", n, name, c)
		}
	}
}

// rgbOf is cm's colour at v as 8-bit RGB.
func rgbOf(cm palette.ColorMap, v float64) [3]int {
	c, err := cm.At(v)
	if err != nil {
		panic(err)
	}
	return rgbOf8(c)
}

// rgbOf8 is c as 8-bit RGB.
func rgbOf8(c color.Color) [3]int {
	r, g, b, _ := c.RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

// jsRGB is c as a JavaScript array.
func jsRGB(c [3]int) string { return fmt.Sprintf("[%d, %d, %d]", c[0], c[1], c[2]) }
