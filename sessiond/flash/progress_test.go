package flash_test

import (
	"testing"

	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/tasks"
)

// TestProgressLines feeds the parser the programmers' progress output as
// their sources print it, one line at a time as the task splits it (at
// '\r' and '\n').
func TestProgressLines(t *testing.T) {
	const total = 32768
	p := flash.NewProgressParser(total)
	tests := []struct {
		line string
		want *tasks.Progress // nil: not a progress line
	}{
		// openFPGALoader src/progressBar.cpp, ProgressBar::display:
		//   printInfo("\r" + _mess + ": [", false);
		//   for (int z=0; z < nbEq; z++) fputc('=', stdout);
		//   fprintf(stdout, "%*s", (int)(_progressLen-nbEq), "");
		//   snprintf(perc_str, sizeof(perc_str), "] %3.2f%%", percent);
		// with _progressLen 50; SPIFlash::sectors_erase: ProgressBar progress("Erasing", end_addr, 50, ...)
		{"Erasing: [                                                  ] 0.00%", &tasks.Progress{Phase: "erasing", Done: 0, Total: total}},
		{"Erasing: [==================================================] 100.00%", &tasks.Progress{Phase: "erasing", Done: total, Total: total}},
		// ProgressBar::done: printSuccess("\nDone")
		{"Done", nil},
		// SPIFlash::erase_and_prog: ProgressBar progress("Writing", len, 50, ...)
		{"Writing: [======================                            ] 43.75%", &tasks.Progress{Phase: "writing", Done: 14336, Total: total}},
		// printInfo adds colour when stdout is a terminal (src/display.cpp: KBLUL "\x1B[94m" ... "\e[0m")
		{"\x1b[94mWriting: [\x1b[0m=========================                         \x1b[94m] 50.00%\x1b[0m", &tasks.Progress{Phase: "writing", Done: 16384, Total: total}},
		// SPIFlash::verify: printInfo("Verifying write (May take time)"); ProgressBar progress("Read flash ", len, 50, false)
		{"Verifying write (May take time)", &tasks.Progress{Phase: "verifying", Done: 0, Total: total}},
		{"Read flash : [=========================                         ] 50.00%", &tasks.Progress{Phase: "verifying", Done: 16384, Total: total}},
		// Ice40::program: printInfo("Wait for CDONE ", false)
		{"Wait for CDONE DONE", &tasks.Progress{Phase: "configuring"}},
		// Ice40::program_cram (SRAM): ProgressBar progress("Loading to CRAM", length, 50, _verbose)
		{"Loading to CRAM: [====================                              ] 40.00%", &tasks.Progress{Phase: "writing", Done: 13107, Total: total}},
		// dfu-util src/dfu_file.c, dfu_progress_bar:
		//   printf("\r%s\t[%s] %3lld%% %12lld bytes", desc, buf, (100ULL * curr) / max, curr);
		// with PROGRESS_BAR_WIDTH 25; dfu_load.c: dfu_progress_bar("Download", bytes_sent, bytes_sent + bytes_left)
		{"Download\t[                         ]   0%            0 bytes", &tasks.Progress{Phase: "writing", Done: 0, Total: total}},
		{"Download\t[==========               ]  42%        13824 bytes", &tasks.Progress{Phase: "writing", Done: 13824, Total: total}},
		// if (progress == PROGRESS_BAR_WIDTH) printf("\n%s done.\n", desc);
		{"Download done.", &tasks.Progress{Phase: "writing", Done: total, Total: total}},
		// dfuse.c: dfu_progress_bar("Erase   ", p, dwElementSize)
		{"Erase   \t[=====                    ]  20%         6553 bytes", &tasks.Progress{Phase: "erasing", Done: 6553, Total: total}},
		// dfu_util.c: "Device really in Run-Time Mode, send DFU detach request..."
		{"Device really in Run-Time Mode, send DFU detach request...", &tasks.Progress{Phase: "detaching"}},
		// dfu_load.c after the download: printf("DFU state(%u) = %s, status(%u) = %s\n", ...)
		{"DFU state(7) = dfuMANIFEST, status(0) = No error condition is present", &tasks.Progress{Phase: "manifesting"}},
		// Not progress.
		{"unable to open ftdi device: -3 (device not found)", nil},
		{"Writing: [==x] 10.00%", nil},
		{"Writing: [===] 120.00%", nil},
		{"Download\t[===] 12% lots bytes", nil},
		{"", nil},
	}
	for _, tc := range tests {
		got, ok := p([]byte(tc.line))
		switch {
		case tc.want == nil && ok:
			t.Errorf("%q: got %+v, want no progress", tc.line, got)
		case tc.want != nil && (!ok || got != *tc.want):
			t.Errorf("%q: got %+v %v, want %+v", tc.line, got, ok, *tc.want)
		}
	}
}

// TestProgressReadFlashWithoutVerify: "Read flash" is a verify only after
// "Verifying write" (a dump prints it too).
func TestProgressReadFlashWithoutVerify(t *testing.T) {
	p := flash.NewProgressParser(100)
	if got, ok := p([]byte("Read flash : [=====    ] 10.00%")); ok {
		t.Errorf("got %+v before Verifying write", got)
	}
}

func FuzzProgressLine(f *testing.F) {
	for _, s := range []string{"Writing: [===  ] 45.00%", "Download\t[==   ]  42%   12345 bytes", "\x1b[94mErasing: [", "Read flash : [] 1%", "\t[ bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := flash.NewProgressParser(1 << 20)
		got, ok := p([]byte(line))
		if ok && (got.Phase == "" || got.Done < 0 || (got.Total > 0 && got.Done > got.Total)) {
			t.Fatalf("%q: %+v", line, got)
		}
	})
}
