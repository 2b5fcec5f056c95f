module example.com/underscore

go 1.22
