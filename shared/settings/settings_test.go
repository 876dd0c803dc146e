package settings

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, body string
		want       Settings
		errHas     []string
	}{
		{"ok", `{"theme":"light","fontSize":16,"tabSize":2}`, Settings{Light, 16, 2}, nil},
		{"high contrast, bounds", `{"theme":"high-contrast","fontSize":32,"tabSize":8}`, Settings{HighContrast, 32, 8}, nil},
		{"low bounds", `{"theme":"dark","fontSize":8,"tabSize":1}`, Settings{Dark, 8, 1}, nil},
		{"unknown field", `{"theme":"dark","fontSize":13,"tabSize":4,"wordWrap":true}`, Settings{}, []string{`unknown setting "wordWrap"`, "theme, fontSize, tabSize"}},
		{"missing field", `{"theme":"dark","fontSize":13}`, Settings{}, []string{`setting "tabSize" is missing`}},
		{"bad theme", `{"theme":"solarized","fontSize":13,"tabSize":4}`, Settings{}, []string{`theme "solarized" is not one of "dark", "light", "high-contrast"`}},
		{"font too small", `{"theme":"dark","fontSize":7,"tabSize":4}`, Settings{}, []string{"fontSize 7 is not between 8 and 32"}},
		{"font too big", `{"theme":"dark","fontSize":33,"tabSize":4}`, Settings{}, []string{"fontSize 33"}},
		{"tab zero", `{"theme":"dark","fontSize":13,"tabSize":0}`, Settings{}, []string{"tabSize 0 is not between 1 and 8"}},
		{"tab nine", `{"theme":"dark","fontSize":13,"tabSize":9}`, Settings{}, []string{"tabSize 9"}},
		{"fraction", `{"theme":"dark","fontSize":13.5,"tabSize":4}`, Settings{}, []string{"fontSize must be a whole number"}},
		{"string number", `{"theme":"dark","fontSize":"13","tabSize":4}`, Settings{}, []string{"fontSize must be a whole number"}},
		{"theme number", `{"theme":1,"fontSize":13,"tabSize":4}`, Settings{}, []string{"theme must be a string"}},
		{"null theme", `{"theme":null,"fontSize":13,"tabSize":4}`, Settings{}, []string{`theme "" is not one of`}},
		{"array", `[1,2]`, Settings{}, []string{"one JSON object"}},
		{"null", `null`, Settings{}, []string{"one JSON object"}},
		{"empty", ``, Settings{}, []string{"one JSON object"}},
		{"trailing garbage", `{"theme":"dark","fontSize":13,"tabSize":4} x`, Settings{}, []string{"one JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if tt.errHas == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", got)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	body := `{"theme":"dark","fontSize":13,"tabSize":4,"x":"` + strings.Repeat("a", MaxBytes) + `"}`
	if _, err := Parse([]byte(body)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse of %d bytes: %v, want ErrTooLarge", len(body), err)
	}
	if _, err := Read(strings.NewReader(body + strings.Repeat(" ", 1<<20))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read: %v, want ErrTooLarge", err)
	}
	if s, err := Read(strings.NewReader(`{"theme":"light","fontSize":20,"tabSize":3}`)); err != nil || s != (Settings{Light, 20, 3}) {
		t.Fatalf("Read = %+v, %v", s, err)
	}
}

func TestDefaultsValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFromStored(t *testing.T) {
	d := Defaults()
	tests := []struct {
		name, stored string
		want         Settings
		wantErr      bool
	}{
		{"empty", "", d, false},
		{"full", `{"theme":"light","fontSize":18,"tabSize":2}`, Settings{Light, 18, 2}, false},
		{"newer version's extra field", `{"theme":"light","fontSize":18,"tabSize":2,"wordWrap":true}`, Settings{Light, 18, 2}, false},
		{"older version's missing field", `{"theme":"high-contrast"}`, Settings{HighContrast, d.FontSize, d.TabSize}, false},
		{"one bad field", `{"theme":"light","fontSize":99,"tabSize":2}`, Settings{Light, d.FontSize, 2}, true},
		{"bad type", `{"theme":7,"fontSize":20,"tabSize":2}`, Settings{d.Theme, 20, 2}, true},
		{"corrupt", `{"theme":`, d, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromStored([]byte(tt.stored))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("FromStored = %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
