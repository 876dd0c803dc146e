// generator.svh - included by tb_pkg.sv; one class per file.

// Creates transactions and hands them to the driver.
class generator;
    // Channel to the driver.
    mailbox #(alu_txn) to_drv;
    // Number of transactions to create.
    int count;

    // Connects the generator to its mailbox.
    function new(mailbox #(alu_txn) mbx, int n);
        to_drv = mbx;
        count  = n;
    endfunction

    // Makes one transaction; overridden to change the stimulus.
    virtual function alu_txn make(int i);
        alu_txn t = new();
        if (t.randomize() == 0) $fatal(1, "randomize failed for transaction %0d", i);
        return t;
    endfunction

    // Puts count transactions into the mailbox.
    task run();
        for (int i = 0; i < count; i++) to_drv.put(make(i));
    endtask
endclass : generator
