module pscope.test/leaky

go 1.19
