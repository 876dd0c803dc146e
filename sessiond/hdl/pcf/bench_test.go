package pcf

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkDiagnose parses and checks a 5,000-line .pcf in which every pin
// is used twice (5,000 diagnostics).
func BenchmarkDiagnose(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 5000; i++ {
		sb.WriteString("set_io p" + strconv.Itoa(i) + " " + strconv.Itoa(i/2) + "\n")
	}
	src := []byte(sb.String())
	var ports []Port
	for i := 0; i < 5000; i++ {
		ports = append(ports, Port{Name: "p" + strconv.Itoa(i), Dir: 1})
	}
	c := Context{Ports: ports}
	b.ReportAllocs()
	for b.Loop() {
		f := Parse("big.pcf", src)
		if n := len(Diagnose(f, c)); n != 2500 {
			b.Fatal(n)
		}
	}
}
