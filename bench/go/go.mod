module gosync.invalid/gobench

go 1.19
