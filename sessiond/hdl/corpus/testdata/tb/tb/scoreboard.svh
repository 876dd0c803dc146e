// scoreboard.svh - included by tb_pkg.sv; one class per file.

// Compares DUT results with the reference model.
class scoreboard;
    // Transactions sent, oldest first, waiting for their result.
    alu_txn pending[$];
    // Number of mismatches seen.
    int errors;
    // Number of results checked.
    int checked;

    // Remembers a transaction the driver has sent.
    function void sent(alu_txn t);
        pending.push_back(t);
    endfunction

    // Checks one DUT result against the oldest pending transaction.
    function void got(bit [W-1:0] y);
        alu_txn t;
        if (pending.size() == 0) begin
            $error("result %0h without a transaction", y);
            errors++;
            return;
        end
        t = pending.pop_front();
        checked++;
        if (y !== t.expected()) begin
            $error("%s: got %0h, expected %0h", t.describe(), y, t.expected());
            errors++;
        end
    endfunction
endclass : scoreboard
