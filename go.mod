module github.com/furious-lab/furious

go 1.26.8

require (
	github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71
	gonum.org/v1/gonum v0.17.0 // indirect
)
