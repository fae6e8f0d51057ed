package main

import (
	"fmt"
	"os"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

func main() {
	dir, _ := os.MkdirTemp("", "scratch")
	s, stop, err := mysqltest.StartDetached(dir)
	if err != nil {
		panic(err)
	}
	defer stop()
	fmt.Println(s.Addr())
	f, _ := os.Create("/tmp/scratch.addr")
	fmt.Fprintf(f, "%d", s.Port)
	f.Close()
	time.Sleep(20 * time.Minute)
}
