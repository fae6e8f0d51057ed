package main

import (
	"strings"
	"testing"
)

// TestBannerCommandsWork: the commands the server prints name its port and data folder when
// they are not the defaults, so that they work as printed.
func TestBannerCommandsWork(t *testing.T) {
	for _, tc := range []struct {
		name, addr, dataDir string
		want, notWant       []string
	}{
		{"defaults", "127.0.0.1:3000", ".local",
			[]string{"mycrt login --user alice", "TOKEN=$(make -s token USER=alice)", "http://127.0.0.1:3000/api/captures"},
			[]string{"--url", "DATA_DIR="}},
		{"another port and folder", "127.0.0.1:3100", "/tmp/nu-data",
			[]string{"mycrt login --url http://127.0.0.1:3100 --user alice", "TOKEN=$(DATA_DIR=/tmp/nu-data make -s token USER=alice)", "http://127.0.0.1:3100/api/captures"},
			nil},
		{"default folder spelled ./.local", "127.0.0.1:3000", "./.local", nil, []string{"DATA_DIR="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := banner(tc.addr, tc.dataDir)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("banner lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("banner has %q:\n%s", w, got)
				}
			}
		})
	}
}
