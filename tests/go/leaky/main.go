// leaky: a Go test target for pscope's Go plugin.
//
// It leaks goroutines in bursts, each kind blocked in its own function and
// created by its own function, so the plugin's groups can be checked:
//
//	leakChan    blocked on a channel receive, created by burstChan
//	leakSelect  blocked in a select,          created by burstSelect
//	leakSleep   blocked in time.Sleep,        created by burstSleep
//
// Then it holds still.  On SIGUSR1 it prints one JSON line with its own
// view (runtime.NumGoroutine and ReadMemStats); on SIGUSR2 it leaks one
// more burst of each kind first.  The first line is printed at start.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// retained keeps some heap alive so the heap numbers are not all noise.
var retained [][]byte

var never = make(chan int)

//go:noinline
func leakChan() {
	<-never
}

//go:noinline
func leakSelect() {
	stop := make(chan struct{})
	select {
	case <-never:
	case <-stop:
	}
}

//go:noinline
func leakSleep() {
	time.Sleep(1000 * time.Hour)
}

//go:noinline
func burstChan(n int) {
	for i := 0; i < n; i++ {
		go leakChan()
	}
}

//go:noinline
func burstSelect(n int) {
	for i := 0; i < n; i++ {
		go leakSelect()
	}
}

//go:noinline
func burstSleep(n int) {
	for i := 0; i < n; i++ {
		go leakSleep()
	}
}

type truth struct {
	Pid        int    `json:"pid"`
	Goroutines int    `json:"goroutines"`
	Chan       int    `json:"chan"`
	Select     int    `json:"select"`
	Sleep      int    `json:"sleep"`
	NumGC      uint32 `json:"num_gc"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapInuse  uint64 `json:"heap_inuse"`
	NextGC     uint64 `json:"next_gc"`
	TotalAlloc uint64 `json:"total_alloc"`
	Version    string `json:"go_version"`
}

func main() {
	nchan := flag.Int("chan", 20, "goroutines leaked on a channel receive per burst")
	nselect := flag.Int("select", 10, "goroutines leaked in a select per burst")
	nsleep := flag.Int("sleep", 5, "goroutines leaked in time.Sleep per burst")
	bursts := flag.Int("bursts", 3, "bursts at start")
	flag.Parse()

	leaked := truth{Pid: os.Getpid(), Version: runtime.Version()}
	burst := func() {
		burstChan(*nchan)
		burstSelect(*nselect)
		burstSleep(*nsleep)
		leaked.Chan += *nchan
		leaked.Select += *nselect
		leaked.Sleep += *nsleep
		for i := 0; i < 64; i++ {
			retained = append(retained, make([]byte, 16<<10))
		}
	}
	for i := 0; i < *bursts; i++ {
		burst()
	}
	// Some garbage and a collection, so the GC numbers are not zero.
	for i := 0; i < 1000; i++ {
		_ = make([]byte, 4096)
	}
	runtime.GC()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	enc := json.NewEncoder(os.Stdout)
	report := func() {
		// Wait until every goroutine has started and parked, so the
		// count holds still while pscope reads it.
		time.Sleep(50 * time.Millisecond)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		leaked.Goroutines = runtime.NumGoroutine()
		leaked.NumGC = ms.NumGC
		leaked.HeapAlloc = ms.HeapAlloc
		leaked.HeapInuse = ms.HeapInuse
		leaked.NextGC = ms.NextGC
		leaked.TotalAlloc = ms.TotalAlloc
		enc.Encode(&leaked)
	}
	report()
	for s := range sigs {
		switch s {
		case syscall.SIGUSR2:
			burst()
			// Collect, so that the heap marked live matches HeapAlloc.
			runtime.GC()
			report()
		case syscall.SIGUSR1:
			report()
		default:
			return
		}
	}
}
