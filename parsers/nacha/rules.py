"""Every rule the NACHA reader checks, by its stable code (see ``bankgate.parsers.rules``).

Where moov-io/ach has a validation switch for the same rule, its name is given in brackets:
waiving the code here (``allow=``, ``bankgate parse --allow CODE``) is the bankgate form of it.
"""

from __future__ import annotations

from bankgate.parsers.problems import WARNING
from bankgate.parsers.rules import Rule, RuleSet, common_rules, field_rules, line_rules

NS = "nacha"

RULES = RuleSet(
    NS,
    [
        *common_rules(NS),
        *field_rules(NS),  # nacha.field.not_ascii [AllowSpecialCharacters]
        *line_rules(NS),
        # -- the file as a whole ------------------------------------------------------------
        Rule("nacha.file.empty", "the file holds no NACHA records"),
        Rule("nacha.file.unknown_record_type", "a record's type code is not 1, 5, 6, 7, 8 or 9"),
        Rule("nacha.file.header_missing", "no file header (1) before the batches [AllowMissingFileHeader]"),
        Rule("nacha.file.header_not_first", "the file header is not the first record"),
        Rule("nacha.file.second_header", "a second file header"),
        Rule("nacha.file.control_missing", "no file control (9): the file may be truncated [AllowMissingFileControl]"),
        Rule("nacha.file.record_after_control", "a record other than 9-filled padding after the file control"),
        Rule("nacha.file.padding_before_control", "9-filled padding before the file control"),
        Rule("nacha.file.block_padding", "the record count is not a multiple of 10 (blocking factor)", WARNING),
        Rule(
            "nacha.file.immediate_destination",
            "immediate destination is not a routing number with a valid check digit [BypassDestinationValidation]",
        ),
        Rule(
            "nacha.file.immediate_origin",
            "immediate origin is neither a routing number with a valid check digit nor ICD 1/3/9 + 9 digits"
            " [BypassOriginValidation]",
        ),
        Rule("nacha.file.batch_count_mismatch", "file control batch count differs from the batches counted"),
        Rule("nacha.file.block_count_mismatch", "file control block count differs from the records / 10"),
        Rule("nacha.file.entry_addenda_count_mismatch", "file control entry/addenda count differs from the count"),
        Rule("nacha.file.entry_hash_mismatch", "file control entry hash differs from the sum of the batches'"),
        Rule("nacha.file.total_debit_mismatch", "file control total debit differs from the entries' sum"),
        Rule("nacha.file.total_credit_mismatch", "file control total credit differs from the entries' sum"),
        # -- batches ------------------------------------------------------------------------
        Rule("nacha.batch.control_missing", "a batch is not closed by a batch control (8)"),
        Rule("nacha.batch.control_without_header", "a batch control with no batch header before it"),
        Rule("nacha.batch.service_class_code", "the service class code is not 200, 220, 225 or 280"),
        Rule("nacha.batch.sec_code", "the standard entry class code is not one NACHA defines"),
        Rule("nacha.batch.service_class_sec", "service class 280 and SEC code ADV do not go together"),
        Rule("nacha.batch.number_order", "batch numbers do not ascend [AllowUnorderedBatchNumbers]"),
        Rule(
            "nacha.batch.company_name",
            "company name is blank or all zeros (ACH Operators reject it) [SkipBatchHeaderCompanyValidation]",
        ),
        Rule(
            "nacha.batch.company_entry_description",
            "company entry description is blank or all zeros (ACH Operators reject it)",
        ),
        Rule(
            "nacha.batch.effective_date_invalid",
            "effective entry date is not a date: settled at the next opportunity, not rejected",
            WARNING,
        ),
        Rule(
            "nacha.batch.effective_date_stale",
            "effective entry date is before the file creation date: settled at the next opportunity",
            WARNING,
        ),
        Rule(
            "nacha.batch.service_class_mismatch",
            "batch control service class differs from the batch header's [UnequalServiceClassCode]",
        ),
        Rule(
            "nacha.batch.company_identification_mismatch",
            "batch control company identification differs from the header's [BypassCompanyIdentificationMatch]",
        ),
        Rule("nacha.batch.odfi_mismatch", "batch control ODFI differs from the batch header's"),
        Rule("nacha.batch.batch_number_mismatch", "batch control batch number differs from the batch header's"),
        Rule("nacha.batch.entry_addenda_count_mismatch", "batch control entry/addenda count differs from the count"),
        Rule("nacha.batch.entry_hash_mismatch", "batch control entry hash differs from the entries' routing sum"),
        Rule("nacha.batch.total_debit_mismatch", "batch control total debit differs from the entries' sum"),
        Rule("nacha.batch.total_credit_mismatch", "batch control total credit differs from the entries' sum"),
        # -- entries ------------------------------------------------------------------------
        Rule("nacha.entry.outside_batch", "an entry or addenda record outside any batch"),
        Rule("nacha.entry.check_digit", "the RDFI routing number's check digit is wrong [AllowInvalidCheckDigit]"),
        Rule("nacha.entry.transaction_code", "unknown transaction code, or one the batch's service class/SEC forbids"),
        Rule("nacha.entry.zero_amount", "a prenote or zero-dollar entry carries an amount [AllowInvalidAmounts]"),
        Rule(
            "nacha.entry.addenda_indicator",
            "the addenda record indicator does not match the addenda that follow [CustomTraceNumbers]",
        ),
        Rule("nacha.entry.trace_order", "trace numbers do not ascend within the batch [CustomTraceNumbers]"),
        Rule("nacha.entry.trace_odfi", "a trace number does not start with the batch's ODFI", WARNING),
        Rule(
            "nacha.entry.individual_name",
            "individual name blank or all zeros where the SEC code makes it mandatory [AllowEmptyIndividualName]",
        ),
        Rule(
            "nacha.entry.individual_name_required",
            "individual name blank or all zeros where the SEC code requires it (RDFIs may return it)",
            WARNING,
        ),
        Rule("nacha.entry.addenda_count", "more addenda than the SEC code allows for one entry"),
        Rule("nacha.entry.number_of_addenda", "declared number of addenda differs from those that follow"),
        Rule(
            "nacha.entry.number_of_addenda_iat",
            "an IAT entry counts only its mandatory addenda (seen in the wild) [UnequalAddendaCounts]",
            WARNING,
        ),
        Rule(
            "nacha.entry.enr_standard_frame",
            "ENR entries name the receiver at 55-76 (as moov-io/ach writes them), not count addenda at 55-58",
            WARNING,
        ),
        Rule("nacha.entry.iat_addenda_order", "an IAT entry lacks addenda 10 to 16 in order"),
        Rule("nacha.entry.iat_addenda_limit", "an IAT entry has more optional addenda 17/18 than allowed"),
        # -- addenda ------------------------------------------------------------------------
        Rule("nacha.addenda.type_code", "unknown addenda type code"),
        Rule("nacha.addenda.sec_type", "an addenda type the batch's SEC code does not allow"),
        Rule("nacha.addenda.no_entry", "an addenda record with no entry before it"),
        Rule("nacha.addenda.entry_sequence", "entry detail sequence number is not the end of the entry's trace"),
        Rule("nacha.addenda.trace_number", "an addenda 02's trace number is not its entry's"),
        Rule("nacha.addenda.sequence", "addenda sequence numbers do not count 1, 2, 3..."),
        Rule("nacha.addenda.return_reason_code", "a return reason code outside R01-R85 [CustomReturnCodes]"),
        Rule("nacha.addenda.change_code", "a change code outside C01-C14 and C61-C69 (refused NOCs)"),
    ],
)
