module github.com/pytest-proxy-wasm/plugins-go

go 1.24
