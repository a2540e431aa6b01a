// Command parlo is a SIP softphone. `parlo` starts the desktop GUI;
// `parlo headless [flags]` runs the same phone driven by JSON lines on
// stdin/stdout (see headless/README.md).
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parlo-voip/parlo/headless"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		return runGUI(nil)
	}
	switch args[0] {
	case "headless":
		return headless.Main(args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return 0
	default:
		if strings.HasPrefix(args[0], "-") {
			return runGUI(args) // flags of the desktop app
		}
		fmt.Fprintf(os.Stderr, "parlo: unknown command %q\n", args[0])
		usage(os.Stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage:\n  parlo [--listen udp:IP:PORT] [--debug]   start the desktop phone\n  parlo headless [flags]    JSON lines on stdin/stdout (parlo headless -h for the flags)")
}
