module gosync

go 1.19
