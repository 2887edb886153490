package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot size and margins, in pixels.
const (
	plotW, plotH          = 800, 500
	plotLeft, plotRight   = 70, 20
	plotTop, plotBottom   = 40, 50
	plotTicks             = 5
	plotLegendX           = plotLeft + 12
	plotLegendY           = plotTop + 16
	plotLineThick         = 2
	plotPointHalf         = 3
	plotAxisLabelOffsetPx = 36
)

var (
	plotP50   = color.RGBA{0x1f, 0x77, 0xb4, 0xff} // blue
	plotP99   = color.RGBA{0xd6, 0x27, 0x28, 0xff} // red
	plotAxis  = color.Black
	plotGrid  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	plotLimit = color.RGBA{0x99, 0x99, 0x99, 0xff}
)

// writePlot draws p50 and p99 latency (ms) against the offered rate as a
// PNG of plotW×plotH, with the ramp's 50 ms limit as a grey line.
func writePlot(path, title string, pts []RampPoint) error {
	img := renderPlot(title, pts)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func renderPlot(title string, pts []RampPoint) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	fill(img, img.Bounds(), color.White)
	var maxX, maxY float64
	for _, p := range pts {
		maxX = max(maxX, p.Offered)
		maxY = max(maxY, p.P99)
	}
	maxX = niceCeil(max(maxX, 1))
	maxY = niceCeil(max(maxY, rampLimitMS*1.1))
	x0, y0 := plotLeft, plotH-plotBottom // origin
	x1, y1 := plotW-plotRight, plotTop
	px := func(v float64) int { return x0 + int(math.Round(v/maxX*float64(x1-x0))) }
	py := func(v float64) int { return y0 - int(math.Round(v/maxY*float64(y0-y1))) }

	for i := 0; i <= plotTicks; i++ {
		xv, yv := maxX*float64(i)/plotTicks, maxY*float64(i)/plotTicks
		line(img, px(xv), y0, px(xv), y1, plotGrid, 1)
		line(img, x0, py(yv), x1, py(yv), plotGrid, 1)
		xl, yl := tickLabel(xv), tickLabel(yv)
		text(img, px(xv)-textWidth(xl)/2, y0+16, xl, plotAxis)
		text(img, x0-8-textWidth(yl), py(yv)+4, yl, plotAxis)
	}
	line(img, x0, y0, x1, y0, plotAxis, 1)
	line(img, x0, y0, x0, y1, plotAxis, 1)
	dashed(img, x0, py(rampLimitMS), x1, plotLimit)
	text(img, x0+8, py(rampLimitMS)-4, "p99 limit 50 ms", plotLimit)

	for _, s := range []struct {
		c color.Color
		v func(RampPoint) float64
	}{{plotP50, func(p RampPoint) float64 { return p.P50 }}, {plotP99, func(p RampPoint) float64 { return p.P99 }}} {
		for i, p := range pts {
			x, y := px(p.Offered), py(s.v(p))
			fill(img, image.Rect(x-plotPointHalf, y-plotPointHalf, x+plotPointHalf+1, y+plotPointHalf+1), s.c)
			if i > 0 {
				q := pts[i-1]
				line(img, px(q.Offered), py(s.v(q)), x, y, s.c, plotLineThick)
			}
		}
	}

	text(img, (plotW-textWidth(title))/2, 22, title, plotAxis)
	xt := "offered rate (messages/s)"
	text(img, (x0+x1-textWidth(xt))/2, y0+plotAxisLabelOffsetPx, xt, plotAxis)
	text(img, 8, y1-10, "latency (ms)", plotAxis)
	fill(img, image.Rect(plotLegendX, plotLegendY-6, plotLegendX+20, plotLegendY-4), plotP50)
	text(img, plotLegendX+26, plotLegendY, "p50", plotAxis)
	fill(img, image.Rect(plotLegendX, plotLegendY+10, plotLegendX+20, plotLegendY+12), plotP99)
	text(img, plotLegendX+26, plotLegendY+16, "p99", plotAxis)
	return img
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	if v >= 1000 && math.Mod(v, 1000) == 0 {
		return fmt.Sprintf("%.0fk", v/1000)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// line draws from (xa, ya) to (xb, yb), thick pixels wide (Bresenham).
func line(img *image.RGBA, xa, ya, xb, yb int, c color.Color, thick int) {
	dx, dy := abs(xb-xa), -abs(yb-ya)
	sx, sy := sign(xb-xa), sign(yb-ya)
	e := dx + dy
	for {
		fill(img, image.Rect(xa-thick/2, ya-thick/2, xa-thick/2+thick, ya-thick/2+thick), c)
		if xa == xb && ya == yb {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			xa += sx
		}
		if e2 <= dx {
			e += dx
			ya += sy
		}
	}
}

// dashed draws a horizontal dashed line.
func dashed(img *image.RGBA, xa, y, xb int, c color.Color) {
	for x := xa; x < xb; x += 8 {
		line(img, x, y, min(x+4, xb), y, c, 1)
	}
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Round()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
