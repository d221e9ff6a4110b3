module tlswire.test/ech

go 1.27
