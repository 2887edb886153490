package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWritePlot(t *testing.T) {
	tests := []struct {
		name string
		pts  []RampPoint
	}{
		{"one point", []RampPoint{{Offered: 1000, P50: 1, P99: 3}}},
		{"a ramp past the limit", []RampPoint{{Offered: 1000, P50: 1, P99: 3}, {Offered: 5000, P50: 1.5, P99: 7},
			{Offered: 20000, P50: 9, P99: 80}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plot.png")
			if err := writePlot(path, "test", tt.pts); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotH {
				t.Fatalf("size %v, want %dx%d", b, plotW, plotH)
			}
			// The p99 line is drawn: its colour is somewhere in the plot.
			found := false
			for y := 0; y < plotH && !found; y++ {
				for x := 0; x < plotW; x++ {
					if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == uint32(plotP99.R) && g>>8 == uint32(plotP99.G) && b>>8 == uint32(plotP99.B) {
						found = true
						break
					}
				}
			}
			if !found {
				t.Fatal("no p99 pixels")
			}
		})
	}
}
